"""Fixtures shared by every test tree."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.rig.keypool import KeyPool, install
from tests.rig.nodes import Node, start_node


def pytest_configure(config: pytest.Config) -> None:
    """In-process nodes take their RSA keys from a pool of real keys made once
    (``tests/rig/keypool.py``): generating one per actor cost the suite minutes."""
    install(KeyPool.load())


class NodeFactory:
    """Start as many real nodes as a test asks for; all are stopped afterwards."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._count = 0
        self.started: list[Node] = []

    async def __call__(self, **overrides: Any) -> Node:
        self._count += 1
        node = await start_node(self._root / f"node{self._count}", **overrides)
        self.started.append(node)
        return node

    async def restart(self, node: Node) -> Node:
        again = await node.restart()
        self.started.append(again)
        return again

    async def stop_all(self) -> None:
        for node in reversed(self.started):
            await node.stop()


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[NodeFactory]:
    factory = NodeFactory(tmp_path)
    yield factory
    await factory.stop_all()
