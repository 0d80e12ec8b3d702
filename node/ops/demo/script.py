"""``chapterhouse demo``: a small federation on loopback that plays a scripted day of action.

One campaign node and three chapter nodes run as separate ``chapterhouse serve`` processes, each
with its own data directory and database, all set up through the real command line. The script
then joins the chapters to the campaign, has members follow chapters (one across nodes), publishes
the campaign's call, adopts it in every chapter, collects RSVPs through the JSON API, files and
corrects signed impact reports, waits for the campaign's rollup and runs ``chapterhouse verify`` on
it. Between steps it polls real state (HTTP collections, the API, ``totals``), never a fixed sleep.
Afterwards the nodes keep running until SIGINT/SIGTERM (or stop at once with
``--exit-after-script``).
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
from pathlib import Path

from node.ops.cluster import HOST, port_is_free
from node.ops.demo.day import Demo
from node.ops.demo.errors import DemoError
from node.ops.demo.plan import CHAPTERS

__all__ = ["MARKER", "Demo", "DemoError", "prepare_directory", "run_demo"]

MARKER = ".chapterhouse-demo"


def prepare_directory(directory: Path) -> Path:
    """Start fresh: delete an earlier demo's directory (only one that carries our marker)."""
    directory = directory.resolve()
    if directory.exists():
        if not directory.is_dir():
            raise DemoError(f"{directory} exists and is not a directory; choose another --dir")
        if (directory / MARKER).exists():
            shutil.rmtree(directory)
        elif any(directory.iterdir()):
            raise DemoError(
                f"{directory} exists and was not made by `chapterhouse demo` (it has no {MARKER}); "
                "choose another --dir or empty it yourself"
            )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text(
        "Made by `chapterhouse demo`; the demo deletes this whole directory when it starts again.\n",
        "utf-8",
    )
    return directory


async def run_demo(*, base_port: int, directory: Path, exit_after_script: bool) -> int:
    """Play the demo. 0: it played through and the nodes were stopped (Ctrl-C, SIGTERM, or
    ``exit_after_script``); 1: it could not (the message says why); 130: interrupted mid-script.
    Every node process is stopped before this returns, whatever happened."""
    demo: Demo | None = None
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    script: asyncio.Task[None] | None = None

    def on_signal() -> None:
        stop.set()
        if script is not None and not script.done():
            script.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    code = 1
    try:
        ports = list(range(base_port, base_port + 1 + len(CHAPTERS)))
        if base_port < 1 or ports[-1] > 65535:
            raise DemoError(
                f"--base-port {base_port}: the demo needs ports {base_port}-{ports[-1]}"
            )
        taken = [p for p in ports if not port_is_free(p)]
        if taken:
            raise DemoError(
                f"port{'s' if len(taken) > 1 else ''} {', '.join(map(str, taken))} on {HOST} "
                f"already in use; the demo needs {ports[0]}-{ports[-1]} (choose another --base-port)"
            )
        try:
            directory = prepare_directory(directory)
        except OSError as exc:
            raise DemoError(f"cannot prepare {directory}: {exc}") from exc
        demo = Demo(base_port, directory)
        script = asyncio.create_task(demo.play())
        try:
            await script
        except asyncio.CancelledError:
            if not stop.is_set():
                raise
            sys.stderr.write("interrupted: stopping the nodes\n")
            code = 130
        else:
            demo.print_urls()
            if exit_after_script:
                demo.say("Stopping the nodes (--exit-after-script).")
            else:
                demo.say("Press Ctrl-C to stop the nodes.")
                await stop.wait()
                demo.say("Stopping the nodes.")
            code = 0
    except DemoError as exc:
        if stop.is_set():  # a command that the same Ctrl-C interrupted
            sys.stderr.write("interrupted: stopping the nodes\n")
            code = 130
        else:
            sys.stderr.write(f"error: {exc}\n")
            if demo is not None:
                sys.stderr.write(f"the nodes' data and logs are in {demo.directory}\n")
    finally:
        if demo is not None:
            await demo.cluster.stop()
            if demo.http is not None:
                await demo.http.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if code == 0 and demo is not None:
        demo.say("All nodes stopped.")
    return code
