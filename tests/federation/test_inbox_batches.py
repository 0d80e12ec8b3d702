"""The inbox worker handles many items per transaction, and one bad item spares its batch.

A real node receives signed Follows from a real server on loopback; its inbox worker is driven
one pass at a time, and the commits on its write engine are counted. ``/metrics`` reports the
backlog (received, not yet handled) and how many items were handled, scraped over HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, event, select

from node.interfaces.activitypub import inbox_worker
from node.interfaces.activitypub.inbox_worker import InboxWorker
from node.runtime.clock import FrozenClock
from protocol.activities import build_follow
from storage.models import Follow, InboxItem
from tests.rig.hostile import HostileServer
from tests.rig.nodes import Node

PEOPLE = [f"p{i:02d}" for i in range(12)]


@pytest.fixture
async def peer() -> AsyncIterator[HostileServer]:
    server = await HostileServer().start()
    for name in PEOPLE:
        server.add_actor(name)
    yield server
    await server.stop()


@pytest.fixture(autouse=True)
def unhurried(monkeypatch) -> None:
    """No time budget: a loaded machine must not split the batches these tests count."""
    monkeypatch.setattr(inbox_worker, "BUDGET_SECONDS", 3600.0)


class Commits:
    """Counts the transactions begun on any engine of the process (the node's async engines
    and its inline ones, on SQLite or PostgreSQL)."""

    def __init__(self, node: Node) -> None:
        self.count = 0
        event.listen(Engine, "begin", self._begin)

    def _begin(self, _conn) -> None:
        self.count += 1

    def close(self) -> None:
        event.remove(Engine, "begin", self._begin)


async def _follows(node: Node, peer: HostileServer, clock: FrozenClock) -> list[str]:
    chapter = node.services.ids.actor("greenpark")
    ids = []
    for who in PEOPLE:
        activity = build_follow(peer.activity_id("follow"), peer.actor_id(who), chapter)
        reply = await peer.post(f"{chapter}/inbox", activity, as_actor=who, now=clock.now())
        assert reply.status == 202, reply.detail
        ids.append(str(activity["id"]))
    return ids


async def _states(node: Node) -> dict[str, tuple[str, int]]:
    async with node.services.db.read() as session:
        items = await session.scalars(select(InboxItem))
        return {i.activity_id: (i.state, i.attempts) for i in items}


async def _followers(node: Node) -> set[str]:
    async with node.services.db.read() as session:
        return {f.follower for f in await session.scalars(select(Follow))}


async def _scrape(node: Node) -> dict[str, float]:
    async with aiohttp.ClientSession() as http, http.get(f"{node.base_url}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    return {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("chapterhouse_inbox_")
    }


async def test_a_batch_of_items_is_handled_in_one_transaction(nodes, peer):
    clock = FrozenClock(datetime.now(UTC))
    node = await nodes(clock=clock, run_workers=False)
    await node.chapter("greenpark")
    ids = await _follows(node, peer, clock)
    commits = Commits(node)
    try:
        await InboxWorker(node.services).run_once()
    finally:
        commits.close()
    assert {a: s for a, (s, _) in (await _states(node)).items()} == dict.fromkeys(ids, "processed")
    assert await _followers(node) == {peer.actor_id(p) for p in PEOPLE}
    # One to read the batch, one to handle it (one per item before).
    assert commits.count == 2, f"{len(ids)} items took {commits.count} transactions"


async def test_one_bad_item_does_not_fail_its_batch(nodes, peer, flaky):
    clock = FrozenClock(datetime.now(UTC))
    node = await nodes(clock=clock, run_workers=False)
    await node.chapter("greenpark")
    ids = await _follows(node, peer, clock)
    bad = ids[4]
    flaky.failing.add(bad)
    commits = Commits(node)
    try:
        await InboxWorker(node.services).run_once()
    finally:
        commits.close()

    states = await _states(node)
    assert states.pop(bad) == ("received", 1)  # waits out its backoff, then is tried again
    assert set(states.values()) == {("processed", 0)} and len(states) == len(ids) - 1
    assert await _followers(node) == {peer.actor_id(p) for p in PEOPLE if p != PEOPLE[4]}
    # The items before the bad one ran again once, with its failure; the rest as one batch.
    assert flaky.calls == ids[:5] + ids[:4] + ids[5:]
    # The read; the attempt rolled back; the items before with the failure; the rest.
    assert commits.count == 4


async def test_metrics_report_the_backlog_and_the_items_handled(nodes, peer, flaky):
    clock = FrozenClock(datetime.now(UTC))
    node = await nodes(clock=clock, run_workers=False, inbox_max_attempts=1)
    await node.chapter("greenpark")
    before = await _scrape(node)
    assert before["chapterhouse_inbox_backlog"] == 0
    assert before["chapterhouse_inbox_handled_total"] == 0

    ids = await _follows(node, peer, clock)
    flaky.failing.add(ids[0])  # with one attempt allowed: failed for good, handled all the same
    waiting = await _scrape(node)
    assert waiting["chapterhouse_inbox_backlog"] == len(ids)
    assert waiting["chapterhouse_inbox_handled_total"] == 0

    await InboxWorker(node.services).run_once()
    after = await _scrape(node)
    assert after["chapterhouse_inbox_backlog"] == 0
    assert after["chapterhouse_inbox_handled_total"] == len(ids)
    assert (await _states(node))[ids[0]] == ("failed", 1)


async def test_inline_batches_checkpoint_the_write_ahead_log(nodes, peer, monkeypatch):
    """The inline connection never checkpoints; the worker asks for one after its batches, so
    the log cannot grow without end while a backlog drains with no other writer."""
    clock = FrozenClock(datetime.now(UTC))
    node = await nodes(clock=clock, run_workers=False)
    if node.services.db.inline is None:
        pytest.skip("inline batches are for nodes on an SQLite file")
    await node.chapter("greenpark")
    await _follows(node, peer, clock)
    checkpoints = []
    real = node.services.db.checkpoint

    async def counted() -> None:
        checkpoints.append(True)
        await real()

    monkeypatch.setattr(node.services.db, "checkpoint", counted)
    await InboxWorker(node.services).run_once()
    assert checkpoints == [True]
