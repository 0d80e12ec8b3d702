"""Fixtures shared by every test tree."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.rig.nodes import Node, start_node


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Node]]]:
    """Start as many real nodes as a test asks for; all are stopped afterwards."""
    started: list[Node] = []
    counter = 0

    async def make(**overrides: Any) -> Node:
        nonlocal counter
        counter += 1
        node = await start_node(tmp_path / f"node{counter}", **overrides)
        started.append(node)
        return node

    yield make
    for node in reversed(started):
        await node.stop()
