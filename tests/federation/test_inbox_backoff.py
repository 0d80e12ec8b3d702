"""An inbox item whose handler fails waits (exponential backoff) instead of being tried again
at once at the head of the queue; the items behind it are handled meanwhile; after the last
attempt it is failed for good.

A real node receives signed Follows from a real server on loopback; the node's clock is frozen
and moved by the test, and its inbox worker is driven one pass at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from node.interfaces.activitypub.inbox_worker import InboxWorker
from node.runtime.clock import FrozenClock
from protocol.activities import build_follow
from storage.models import Follow, InboxItem
from tests.rig.hostile import HostileServer
from tests.rig.nodes import Node

BASE = 30.0  # inbox_retry_base_seconds (the default)


@pytest.fixture
async def peer() -> AsyncIterator[HostileServer]:
    server = await HostileServer().start()
    for name in ("mallory", "eve", "trent"):
        server.add_actor(name)
    yield server
    await server.stop()


async def _follow(node: Node, peer: HostileServer, clock: FrozenClock, who: str) -> str:
    chapter = node.services.ids.actor("greenpark")
    activity = build_follow(peer.activity_id("follow"), peer.actor_id(who), chapter)
    reply = await peer.post(f"{chapter}/inbox", activity, as_actor=who, now=clock.now())
    assert reply.status == 202, reply.detail
    return str(activity["id"])


async def _item(node: Node, activity_id: str) -> InboxItem:
    async with node.services.db.read() as session:
        item = await session.scalar(select(InboxItem).where(InboxItem.activity_id == activity_id))
    assert item is not None
    return item


async def _follower_states(node: Node) -> dict[str, str]:
    async with node.services.db.read() as session:
        return {f.follower: f.state for f in await session.scalars(select(Follow))}


def _waits(item: InboxItem, clock: FrozenClock, failures: int) -> timedelta:
    """How long the item waits; checks it is the backoff for its ``failures`` (25% jitter)."""
    assert item.state == "received" and item.attempts == failures
    assert item.next_attempt_at is not None
    wait = item.next_attempt_at - clock.now()
    least = timedelta(seconds=BASE * 2 ** (failures - 1))
    assert least <= wait < least * 1.25, (failures, wait)
    return wait


async def test_a_failing_item_waits_doubling_while_the_others_are_handled(nodes, peer, flaky):
    clock = FrozenClock(datetime.now(UTC))
    node = await nodes(clock=clock, run_workers=False)
    await node.chapter("greenpark")
    worker = InboxWorker(node.services)
    bad = await _follow(node, peer, clock, "mallory")
    first = await _follow(node, peer, clock, "eve")
    flaky.failing.add(bad)

    await worker.run_once()
    assert flaky.calls == [bad, first]
    wait = _waits(await _item(node, bad), clock, failures=1)
    assert (await _item(node, first)).state == "processed"

    # Not due yet: a new item is handled, the failed one is not tried again.
    later = await _follow(node, peer, clock, "trent")
    clock.advance(wait - timedelta(seconds=1))
    await worker.run_once()
    assert flaky.calls == [bad, first, later]
    assert (await _item(node, later)).state == "processed"

    clock.advance(timedelta(seconds=1))  # due: tried again, fails again, waits twice as long
    await worker.run_once()
    assert flaky.calls == [bad, first, later, bad]
    wait = _waits(await _item(node, bad), clock, failures=2)

    flaky.failing.clear()  # the trouble is over
    clock.advance(wait)
    await worker.run_once()
    assert flaky.calls == [bad, first, later, bad, bad]
    done = await _item(node, bad)
    assert done.state == "processed" and done.attempts == 2
    assert (await _follower_states(node))[peer.actor_id("mallory")] == "accepted"


async def test_an_item_that_keeps_failing_is_failed_for_good(nodes, peer, flaky):
    clock = FrozenClock(datetime.now(UTC))
    node = await nodes(clock=clock, run_workers=False, inbox_max_attempts=3)
    await node.chapter("greenpark")
    worker = InboxWorker(node.services)
    bad = await _follow(node, peer, clock, "mallory")
    flaky.failing.add(bad)

    for failures in (1, 2):
        await worker.run_once()
        clock.advance(_waits(await _item(node, bad), clock, failures))
    await worker.run_once()
    item = await _item(node, bad)
    assert (item.state, item.attempts, item.next_attempt_at) == ("failed", 3, None)
    assert "the handler hiccupped" in (item.error or "")

    clock.advance(timedelta(days=1))
    await worker.run_once()
    assert flaky.calls == [bad, bad, bad]  # never tried again
