"""Fixtures: a hostile server, the node under attack, and an honest peer node."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.rig.hostile import HostileServer
from tests.security.helpers import Honest, Target, make_honest, make_target


@pytest.fixture
async def hostile() -> AsyncIterator[HostileServer]:
    """A server with two genuine actors: ``mallory`` (a Person) and ``eve`` (a chapter)."""
    server = await HostileServer().start()
    server.add_actor("mallory")
    server.add_actor("eve", kind="Group", **{"chapterhouse:kind": "chapter"})
    yield server
    await server.stop()


@pytest.fixture
async def target(nodes) -> Target:
    return await make_target(nodes)


@pytest.fixture
async def honest(nodes) -> Honest:
    return await make_honest(nodes)
