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

from node.interfaces.cli.words import _, written
from node.ops.cluster import HOST, port_is_free
from node.ops.demo.day import Demo
from node.ops.demo.errors import DemoError
from node.ops.demo.plan import CHAPTERS
from protocol.errors import N_

__all__ = ["MARKER", "Demo", "DemoError", "prepare_directory", "run_demo"]

MARKER = ".chapterhouse-demo"


def prepare_directory(directory: Path) -> Path:
    """Start fresh: delete an earlier demo's directory (only one that carries our marker)."""
    directory = directory.resolve()
    if directory.exists():
        if not directory.is_dir():
            raise DemoError(
                N_("{directory} exists and is not a directory; choose another --dir"),
                directory=str(directory),
            )
        if (directory / MARKER).exists():
            shutil.rmtree(directory)
        elif any(directory.iterdir()):
            raise DemoError(
                N_(
                    "{directory} exists and was not made by `chapterhouse demo` (it has no "
                    "{marker}); choose another --dir or empty it yourself"
                ),
                directory=str(directory),
                marker=MARKER,
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
                N_("--base-port {port}: the demo needs ports {first}-{last}"),
                port=str(base_port),  # ports are names, not amounts: no digit grouping
                first=str(base_port),
                last=str(ports[-1]),
            )
        taken = [p for p in ports if not port_is_free(p)]
        if len(taken) == 1:
            raise DemoError(
                N_(
                    "port {ports} on {host} already in use; the demo needs {first}-{last} "
                    "(choose another --base-port)"
                ),
                ports=str(taken[0]),
                host=HOST,
                first=str(ports[0]),
                last=str(ports[-1]),
            )
        if taken:
            raise DemoError(
                N_(
                    "ports {ports} on {host} already in use; the demo needs {first}-{last} "
                    "(choose another --base-port)"
                ),
                ports=", ".join(map(str, taken)),
                host=HOST,
                first=str(ports[0]),
                last=str(ports[-1]),
            )
        try:
            directory = prepare_directory(directory)
        except OSError as exc:
            raise DemoError(
                N_("cannot prepare {directory}: {reason}"),
                directory=str(directory),
                reason=str(exc),
            ) from exc
        demo = Demo(base_port, directory)
        script = asyncio.create_task(demo.play())
        try:
            await script
        except asyncio.CancelledError:
            if not stop.is_set():
                raise
            sys.stderr.write(_("interrupted: stopping the nodes") + "\n")
            code = 130
        else:
            demo.print_urls()
            if exit_after_script:
                demo.say(_("Stopping the nodes (--exit-after-script)."))
            else:
                demo.say(_("Press Ctrl-C to stop the nodes."))
                await stop.wait()
                demo.say(_("Stopping the nodes."))
            code = 0
    except DemoError as exc:
        if stop.is_set():  # a command that the same Ctrl-C interrupted
            sys.stderr.write(_("interrupted: stopping the nodes") + "\n")
            code = 130
        else:
            reason = exc.spoken(_, written)
            sys.stderr.write(_("error: {reason}").format(reason=reason) + "\n")
            if demo is not None:
                where = _("the nodes' data and logs are in {directory}")
                sys.stderr.write(where.format(directory=demo.directory) + "\n")
    finally:
        if demo is not None:
            await demo.cluster.stop()
            if demo.http is not None:
                await demo.http.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if code == 0 and demo is not None:
        demo.say(_("All nodes stopped."))
    return code
