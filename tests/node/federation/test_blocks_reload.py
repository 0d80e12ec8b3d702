"""The inbox's in-memory blocks: requests in flight share one reload, and no change is missed."""

from __future__ import annotations

import asyncio
import time

from node.features.moderation.blocks import block_domain
from node.federation.admission.blocks import current_blocks


async def test_requests_in_flight_share_one_reload(nodes):
    node = await nodes()
    services = node.services
    services.blocks.loaded_at = -1e9  # as when RELOAD_SECONDS have passed
    now = time.monotonic()
    seen = await asyncio.gather(*(current_blocks(services, now=now) for _ in range(32)))
    assert all(blocks is seen[0] for blocks in seen)  # one read, not 32
    assert services.blocks is seen[0]
    assert services.blocks_reload is None
    assert await current_blocks(services, now=now) is seen[0]  # fresh now: no read at all


async def test_a_block_made_during_a_reload_is_not_lost(nodes):
    node = await nodes()
    services = node.services
    for attempt in range(20):  # the reload's read lands before or after the write: both kinds
        host = f"spam{attempt}.example"
        services.blocks.loaded_at = -1e9
        stale = asyncio.ensure_future(current_blocks(services, now=time.monotonic()))
        await asyncio.sleep(0)  # the reload has started
        await block_domain(services, host)
        await stale  # may or may not hold the new block: it began before it
        blocks = await current_blocks(services, now=time.monotonic())
        assert host in blocks.suspended, attempt
