"""The demo's nodes: one for the campaign and one per chapter, on consecutive loopback ports,
each a ``chapterhouse serve`` process (``node.ops.cluster``) with its own data directory.

The nodes get our environment minus anything that would point them elsewhere, so a developer's
``DATABASE_URL`` or ``CHAPTERHOUSE_*`` settings never leak into the demo's databases.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path

from node.ops.cluster import NodeProcess, stop_all
from node.ops.demo.errors import DemoError
from node.ops.demo.plan import CAMPAIGN, CHAPTERS
from protocol.errors import N_

#: Settings every demo node runs with: rollups at most once a second, a brisk delivery worker.
NODE_ENV = {
    "CHAPTERHOUSE_ROLLUP_INTERVAL_SECONDS": "1",
    "CHAPTERHOUSE_DELIVERY_POLL_SECONDS": "0.1",
    "CHAPTERHOUSE_REMINDER_SWEEP_SECONDS": "1",  # the last step's reminder is due in seconds
}
STOP_TIMEOUT = 10.0  # how long a node gets to shut down after SIGTERM before it is killed


def child_env() -> dict[str, str]:
    """The environment of every child: ours minus anything that would point a node elsewhere."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("CHAPTERHOUSE_") or k == "DATABASE_URL")
        or k == "CHAPTERHOUSE_LOG_LEVEL"
    }
    env.update(NODE_ENV)
    return env


@dataclass
class DemoNode:
    """One node of the demo: the campaign or chapter it hosts, its process, and who is on it."""

    name: str  # the campaign or chapter it hosts
    server: NodeProcess
    actors: dict[str, str] = field(default_factory=dict)  # local name → actor id
    tokens: dict[str, str] = field(default_factory=dict)  # member name → bearer token
    passwords: dict[str, str] = field(default_factory=dict)  # member name → web password

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def authority(self) -> str:
        return self.server.authority

    @property
    def log(self) -> Path:
        return self.server.log

    def handle(self, name: str) -> str:
        return f"acct:{name}@{self.authority}"


class DemoCluster:
    """The campaign's node on ``base_port`` and the chapters' on the ports after it."""

    def __init__(self, base_port: int, directory: Path) -> None:
        self.directory = directory
        self.env = child_env()
        self.campaign = self._node(CAMPAIGN, base_port)
        self.chapters = {
            plan.name: self._node(plan.name, base_port + 1 + i) for i, plan in enumerate(CHAPTERS)
        }

    def _node(self, name: str, port: int) -> DemoNode:
        return DemoNode(name, NodeProcess(self.directory / name, port, base_env=self.env))

    @property
    def nodes(self) -> list[DemoNode]:
        return [self.campaign, *self.chapters.values()]

    def check_alive(self) -> None:
        """A node that died fails the demo at once, with the end of its log."""
        for node in self.nodes:
            code = node.server.exit_code()
            if code is not None:
                raise DemoError(
                    N_(
                        "the {node} node stopped unexpectedly (exit {code}); the end of "
                        "{log}:\n{tail}"
                    ),
                    node=node.name,
                    code=code,
                    log=str(node.log),
                    tail=node.server.log_tail(),
                )

    async def stop(self) -> None:
        """Stop every node that was started (SIGTERM, then SIGKILL after ``STOP_TIMEOUT``)."""
        await asyncio.to_thread(stop_all, [n.server for n in self.nodes], timeout=STOP_TIMEOUT)
