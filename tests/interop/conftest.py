"""Fixtures for interoperability tests against independent ActivityPub implementations."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.interop.peer import BovinePeer


@pytest.fixture
async def bovine_peer() -> AsyncIterator[BovinePeer]:
    """A running bovine peer on a free loopback port; stopped afterwards."""
    peer = BovinePeer()
    await peer.start()
    try:
        yield peer
    finally:
        await peer.stop()
