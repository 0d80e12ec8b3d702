"""Start real Chapterhouse nodes: real aiohttp servers on free loopback ports, one SQLite each."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from node.features.actors.local import Created, create_actor
from node.ops import cluster
from node.ops.cluster import free_port as free_port
from node.ops.cluster import free_socket, node_argv
from node.runtime.app import create_app, open_services
from node.runtime.clock import Clock
from node.runtime.config import Settings
from node.runtime.services import Services
from tests.rig.database import fresh_database_url, on_postgresql

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Hit:
    """One request a node answered (recorded for fault tests)."""

    method: str
    path: str
    status: int


@dataclass
class Node:
    """One running in-process node."""

    services: Services
    runner: web.AppRunner
    data_dir: Path
    overrides: dict[str, Any] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    #: Seconds to hold every inbox POST before answering (a slow peer), settable at any time.
    inbox_delay: float = 0.0

    @property
    def cli_env(self) -> dict[str, str]:
        """Environment for running the CLI on this in-process node's data (it has no config file)."""
        return {
            "CHAPTERHOUSE_BASE_URL": self.base_url,
            "CHAPTERHOUSE_ALLOW_PRIVATE_NETWORK": "true",
            "CHAPTERHOUSE_DATABASE_URL": self.services.settings.database_url,
        }

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def inbox_hits(self, ok_only: bool = True) -> list[Hit]:
        return [
            h
            for h in self.hits
            if h.method == "POST"
            and h.path.endswith("/inbox")
            and (not ok_only or 200 <= h.status < 300)
        ]

    @property
    def base_url(self) -> str:
        return self.services.settings.base_url

    @property
    def authority(self) -> str:
        return self.services.ids.authority

    async def chapter(self, name: str, **kwargs: Any) -> Created:
        return await create_actor(self.services, name, "chapter", **kwargs)

    async def member(self, name: str, role: str = "member", chapter: str | None = None) -> Created:
        return await create_actor(self.services, name, "member", role=role, chapter=chapter)

    async def stop(self) -> None:
        await self.runner.cleanup()

    async def restart(self) -> Node:
        """Start the same node again (same port, same database)."""
        return await start_node(self.data_dir, port=self.port, **self.overrides)


async def start_node(
    data_dir: Path, *, port: int = 0, clock: Clock | None = None, **overrides: Any
) -> Node:
    sock = free_socket(port)
    port = sock.getsockname()[1]
    # Followers hear of Joins/Leaves once per interval (60 s by default): short in tests.
    overrides.setdefault("participation_update_seconds", 0.5)
    if "database_url" not in overrides and on_postgresql():
        overrides["database_url"] = await fresh_database_url(data_dir)
    settings = Settings(
        data_dir=data_dir,
        base_url=f"http://127.0.0.1:{port}",
        allow_private_network=True,
        delivery_poll_seconds=0.1,
        **overrides,
    )
    services = await open_services(settings, clock)
    app = create_app(services)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    node = Node(services, runner, data_dir, dict(overrides))

    async def record(request: web.Request, response: web.StreamResponse) -> None:
        if node.inbox_delay and request.method == "POST" and request.path.endswith("/inbox"):
            await asyncio.sleep(node.inbox_delay)
        node.hits.append(Hit(request.method, request.path, response.status))

    app.on_response_prepare.append(record)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return node


async def eventually(
    check: Callable[[], Awaitable[bool]],
    *,
    timeout: float = 15.0,
    interval: float = 0.05,
    what: str = "condition",
) -> None:
    """Wait until ``check()`` is true; fail with ``what`` if it never becomes true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


# -- separate processes -------------------------------------------------------------------


def cli(
    *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real ``chapterhouse`` command line in a subprocess."""
    result = subprocess.run(
        node_argv(*args),
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"chapterhouse {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


class NodeProcess(cluster.NodeProcess):
    """A node served by ``chapterhouse serve`` in its own process (``node.ops.cluster``: the same
    helper as ``chapterhouse demo``), set up by the real ``chapterhouse init``."""

    def init(self) -> None:
        cli(*self.init_args())


async def acli(
    *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI without blocking the event loop (in-process nodes keep serving meanwhile)."""
    proc = await asyncio.create_subprocess_exec(
        *node_argv(*args),
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    result = subprocess.CompletedProcess(
        list(args), proc.returncode or 0, out.decode(), err.decode()
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"chapterhouse {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result
