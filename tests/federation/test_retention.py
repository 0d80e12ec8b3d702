"""The purge: sent and dead deliveries and handled inbox items older than the retention go,
younger ones stay, and an inbox activity id stays as long as a replay of its request could
still carry a valid signature (so the replay is still recognised as a duplicate).

A real node with a frozen clock receives signed requests from a real server on loopback and
delivers to real receivers; its workers are driven one pass at a time. The command line
(``chapterhouse purge``) runs in a subprocess against an in-process node's database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import func, select

from node.federation.delivery.dispatcher import DeliveryWorker
from node.federation.retention import Purged, purge, run_retention
from node.interfaces.activitypub.inbox_worker import InboxWorker
from node.runtime.clock import FrozenClock
from protocol.activities import build_follow
from storage.models import Delivery, InboxItem
from tests.federation.test_delivery_faults import chapter_node, deliveries, publish
from tests.rig.bulk import add_followers
from tests.rig.hostile import HostileServer, send
from tests.rig.nodes import Node, acli, eventually
from tests.rig.sink import Sink

DAY = timedelta(days=1)


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


async def _items(node: Node) -> dict[str, InboxItem]:
    async with node.services.db.read() as session:
        return {i.activity_id: i for i in await session.scalars(select(InboxItem))}


async def _drain(node: Node) -> None:
    worker = DeliveryWorker(node.services)
    while await worker.run_once():
        pass


async def test_what_is_older_than_the_retention_goes_and_the_rest_stays(nodes, peer):
    t0 = datetime.now(UTC)
    clock = FrozenClock(t0)
    node, chapter, token = await chapter_node(nodes, clock=clock, run_workers=False)
    ok, refusing = await Sink().start(), await Sink(respond=lambda n, r: (404, {})).start()
    inbox = InboxWorker(node.services)
    try:
        await add_followers(
            node, chapter, [(f"{s.base_url}/actor", s.inbox) for s in (ok, refusing)]
        )
        old_item = await _follow(node, peer, clock, "mallory")
        await inbox.run_once()
        await publish(node, token)
        await _drain(node)
        await publish(node, token, title="Held")  # old, but still pending: never purged
        old_rows = {r.id: r.state for r in await deliveries(node)}
        assert set(old_rows.values()) == {"sent", "dead", "pending"}

        clock.advance(20 * DAY)
        young_item = await _follow(node, peer, clock, "eve")
        await inbox.run_once()
        waiting_item = await _follow(node, peer, clock, "trent")  # received, not handled yet
        clock.advance(11 * DAY)

        purged = await purge(node.services, 30 * DAY)

        finished = [pk for pk, state in old_rows.items() if state != "pending"]
        assert purged == Purged(deliveries=len(finished), inbox_items=1, inbox_bodies=0)
        left = {r.id: r for r in await deliveries(node)}
        assert not set(finished) & set(left)
        assert {pk for pk, state in old_rows.items() if state == "pending"} <= set(left)
        assert any(r.created_at == t0 + 20 * DAY for r in left.values())  # eve's Accept
        items = await _items(node)
        assert old_item not in items  # handled 31 days ago: gone, id and all
        assert set(items) == {young_item, waiting_item}
        assert items[young_item].body["id"] == young_item  # younger: body kept
        assert items[waiting_item].state == "received"

        assert await purge(node.services, 30 * DAY) == Purged(0, 0, 0)  # idempotent
        await inbox.run_once()  # the waiting item is untouched and handled as usual
        assert (await _items(node))[waiting_item].state == "processed"
    finally:
        await ok.stop()
        await refusing.stop()


async def test_an_activity_id_is_kept_while_a_replay_could_still_verify(nodes, peer):
    clock = FrozenClock(datetime.now(UTC))
    node = await nodes(clock=clock, run_workers=False)  # signature window: one hour
    chapter = (await node.chapter("greenpark")).actor.ap_id
    url = f"{chapter}/inbox"
    activity = build_follow(peer.activity_id("follow"), peer.actor_id("mallory"), chapter)
    body = orjson.dumps(activity)
    headers = peer.signed_headers(url, body, as_actor="mallory", now=clock.now())
    assert (await send(url, body, headers)).status == 202
    inbox = InboxWorker(node.services)
    await inbox.run_once()
    [stored] = (await _items(node)).values()

    clock.advance(timedelta(minutes=30))
    assert await purge(node.services, timedelta(0)) == Purged(0, inbox_items=0, inbox_bodies=1)
    [kept] = (await _items(node)).values()
    assert kept.body == {} and kept.state == "processed"  # the body went...
    assert (kept.activity_id, kept.body_sha256) == (stored.activity_id, stored.body_sha256)

    # ...the id stayed: the same request replayed inside the window is a known duplicate.
    assert (await send(url, body, headers)).status == 202
    assert await inbox.run_once() == 0  # nothing new to handle
    assert len(await _items(node)) == 1
    # And another body under that id is still refused (the fingerprint stayed too).
    forged = orjson.dumps({**activity, "to": [peer.actor_id("eve")]})
    reply = await send(
        url, forged, peer.signed_headers(url, forged, as_actor="mallory", now=clock.now())
    )
    assert reply.status == 409, reply.detail

    clock.advance(timedelta(hours=1))  # past the window: the id may go...
    assert await purge(node.services, timedelta(0)) == Purged(0, inbox_items=1, inbox_bodies=0)
    assert await _items(node) == {}
    # ...since a replay of the request no longer verifies.
    assert (await send(url, body, headers)).status == 401
    assert await _items(node) == {}


async def test_the_worker_purges_at_start_unless_retention_is_off(nodes, peer):
    clock = FrozenClock(datetime.now(UTC) - 40 * DAY)
    node = await nodes(clock=clock, run_workers=False, retention_days=30)
    await node.chapter("greenpark")
    await _follow(node, peer, clock, "mallory")
    await InboxWorker(node.services).run_once()
    clock.advance(40 * DAY)

    off = await nodes(run_workers=False, retention_days=0)
    await asyncio.wait_for(run_retention(off.services), 1)  # returns: nothing to do, ever

    worker = asyncio.create_task(run_retention(node.services))
    try:

        async def purged() -> bool:
            return await _items(node) == {}

        await eventually(purged, timeout=5, what="the purge at start")
    finally:
        worker.cancel()


async def _count(node: Node, model: type) -> int:
    async with node.services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_purge_command(nodes, peer):
    clock = FrozenClock(datetime.now(UTC) - 10 * DAY)  # the command runs on the real clock
    node, chapter, token = await chapter_node(nodes, clock=clock, run_workers=False)
    ok = await Sink().start()
    try:
        await add_followers(node, chapter, [(f"{ok.base_url}/actor", ok.inbox)])
        await _follow(node, peer, clock, "mallory")
        await InboxWorker(node.services).run_once()
        await publish(node, token)
        await _drain(node)  # the Accept and the call to the peer, the call to the sink
    finally:
        await ok.stop()
    data, env = str(node.data_dir), node.cli_env
    assert (await _count(node, Delivery), await _count(node, InboxItem)) == (3, 1)

    dry = await acli("purge", "--data", data, "--older-than-days", "7", "--dry-run", env=env)
    assert dry.stdout == "would purge 3 deliveries, 1 inbox item and 0 inbox bodies\n"
    assert (await _count(node, Delivery), await _count(node, InboxItem)) == (3, 1)

    young = await acli("purge", "--data", data, env=env)  # the node's retention: 30 days
    assert young.stdout == "purged 0 deliveries, 0 inbox items and 0 inbox bodies\n"

    done = await acli("purge", "--data", data, "--older-than-days", "7", env=env)
    assert done.stdout == "purged 3 deliveries, 1 inbox item and 0 inbox bodies\n"
    assert "deliveries: 3 purged so far" in done.stderr
    assert (await _count(node, Delivery), await _count(node, InboxItem)) == (0, 0)

    bad = await acli("purge", "--data", data, "--older-than-days", "-1", env=env, check=False)
    assert bad.returncode == 2 and "0 or more" in bad.stderr
    off = await acli(
        "purge", "--data", data, env={**env, "CHAPTERHOUSE_RETENTION_DAYS": "0"}, check=False
    )
    assert off.returncode == 1 and "retention is off" in off.stderr
