"""Chapterhouse nodes as separate ``chapterhouse serve`` processes on loopback ports.

The one helper for whatever needs real node processes rather than an app in its own event loop:
``chapterhouse demo`` (a campaign and its chapters federating), the tests that kill a node and
start it again or run several processes on one database, and the benchmarks' free ports. Each
node has its own data directory and port, and appends its output to a log in that directory.

Spawning, waiting and stopping are plain blocking calls: the crash and restart tests drive them
step by step. An async caller spawns (which returns at once), waits in its own way (polling
``exit_code``) and stops in a thread.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from protocol.errors import N_, WordedError

HOST = "127.0.0.1"
#: Where the ``node`` package lives: every child runs ``python -m node`` from here.
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0  # how long a node may take to listen
STOP_TIMEOUT = 20.0  # how long a node gets to shut down after a signal before it is killed
PROBE_SECONDS = 0.05
#: What every cluster node runs with (under its own settings): a cluster is for watching
#: federation happen, so the delivery worker polls its queue briskly.
CLUSTER_ENV = {"CHAPTERHOUSE_DELIVERY_POLL_SECONDS": "0.1"}


class ClusterError(WordedError):
    """A node process did not start; the message says why and ends with its log (raised with
    an ``N_`` wording and its data as params, so the CLI says it in its reader's language)."""


def free_socket(port: int = 0) -> socket.socket:
    """A loopback socket bound to ``port`` (0: any free one), for a caller to serve on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    return sock


def free_port() -> int:
    """A loopback port that was free a moment ago (for a process that binds it itself)."""
    with free_socket() as sock:
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """True when nothing listens on the port (a socket in TIME_WAIT does not count)."""
    try:
        free_socket(port).close()
    except OSError:
        return False
    return True


def listening(port: int) -> bool:
    """True when something accepts connections on the loopback port."""
    with socket.socket() as probe:
        return probe.connect_ex((HOST, port)) == 0


def node_argv(*args: str) -> list[str]:
    """``chapterhouse ARGS`` with this interpreter (so a virtualenv's node runs, installed or not)."""
    return [sys.executable, "-m", "node", *args]


def spawn(args: Sequence[str], *, env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``chapterhouse ARGS`` in the background, its output appended to ``log``."""
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(  # noqa: S603 - this interpreter running our own package
            node_argv(*args),
            cwd=PACKAGE_ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_processes(
    processes: Iterable[subprocess.Popen[bytes] | None],
    sig: int = signal.SIGTERM,
    timeout: float = STOP_TIMEOUT,
) -> None:
    """Send ``sig`` to every process still running, then wait for them all (so N processes stop
    within one timeout, not N) and kill those that outlast it."""
    running = [p for p in processes if p is not None and p.poll() is None]
    for process in running:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()


@dataclass
class NodeProcess:
    """One node served by ``chapterhouse serve`` on a loopback port, in its own process.

    Its environment is ``base_env`` (None: this process's), then ``CLUSTER_ENV``, then ``env``.
    """

    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)
    base_env: Mapping[str, str] | None = None
    serve_args: tuple[str, ...] = ()  # more ``serve`` options, e.g. ("--workers", "0")
    log_file: Path | None = None  # None: serve.log in the data directory

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def authority(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def log(self) -> Path:
        return self.log_file or self.data_dir / "serve.log"

    def environment(self) -> dict[str, str]:
        base = os.environ if self.base_env is None else self.base_env
        return {**base, **CLUSTER_ENV, **self.env}

    def init_args(self) -> list[str]:
        """The ``chapterhouse`` arguments that set this node up (a loopback node must be allowed
        to fetch from private addresses: its peers are on loopback too)."""
        return [
            "init",
            "--data",
            str(self.data_dir),
            "--base-url",
            self.base_url,
            "--allow-private-network",
        ]

    def serve_command(self) -> list[str]:
        return [
            "serve",
            "--data",
            str(self.data_dir),
            "--host",
            HOST,
            "--port",
            str(self.port),
            *self.serve_args,
        ]

    def exit_code(self) -> int | None:
        """The exit status once the process has ended; None while it runs (or before it starts)."""
        return None if self.process is None else self.process.poll()

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text("utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def spawn(self) -> None:
        """Start the process without waiting for it to listen."""
        self.process = spawn(self.serve_command(), env=self.environment(), log=self.log)

    def wait_listening(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.exit_code()
            if code is not None:
                raise ClusterError(
                    N_(
                        "the node in {path} exited (status {code}) before it listened on {url};"
                        " the end of {log}:\n{tail}"
                    ),
                    path=str(self.data_dir),
                    code=code,
                    url=self.base_url,
                    log=str(self.log),
                    tail=self.log_tail(),
                )
            if listening(self.port):
                return
            time.sleep(PROBE_SECONDS)
        # A whole number of seconds reads without its ".0" (as ``:g`` wrote it).
        seconds = int(timeout) if float(timeout).is_integer() else timeout
        raise ClusterError(
            N_(
                "the node in {path} did not listen on {url} within {seconds} s;"
                " the end of {log}:\n{tail}"
            ),
            path=str(self.data_dir),
            url=self.base_url,
            seconds=seconds,
            log=str(self.log),
            tail=self.log_tail(),
        )

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the process and return once it listens."""
        self.spawn()
        self.wait_listening(timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the process (SIGKILL is a crash); it is killed if it outlasts ``timeout``."""
        stop_processes([self.process], sig, timeout)
        self.process = None


def stop_all(
    nodes: Iterable[NodeProcess], sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT
) -> None:
    """Stop every node together (one timeout for all)."""
    nodes = list(nodes)
    stop_processes((n.process for n in nodes), sig, timeout)
    for node in nodes:
        node.process = None
