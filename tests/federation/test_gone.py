"""410 Gone: a remote actor whose inbox or actor document answers 410 is marked gone, its
follows are removed and the deliveries still pending for its inbox stop ("gone"); a later
successful fetch of its document clears the mark.

A real node federates with a real server on loopback that answers 410 where the test says.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import web
from sqlalchemy import select

from node.federation.delivery.dispatcher import DeliveryWorker
from node.federation.resolver import ResolveError
from node.interfaces.activitypub.inbox_worker import InboxWorker
from node.runtime.clock import FrozenClock
from protocol.activities import build_follow
from storage.models import Follow, RemoteActor
from tests.federation.test_delivery_faults import chapter_node, deliveries, publish
from tests.rig.bulk import add_followers
from tests.rig.hostile import HostileServer
from tests.rig.nodes import Node


@pytest.fixture
async def peer() -> AsyncIterator[HostileServer]:
    server = await HostileServer().start()
    server.add_actor("mallory", endpoints={})  # no shared inbox: delivered to her own inbox
    server.add_actor("eve")  # reached through the server's shared inbox
    yield server
    await server.stop()


async def _remote(node: Node, actor_id: str) -> RemoteActor:
    async with node.services.db.read() as session:
        row = await session.scalar(select(RemoteActor).where(RemoteActor.ap_id == actor_id))
    assert row is not None
    return row


async def _follows(node: Node) -> set[tuple[str, str]]:
    """Follows with a remote side (a chapter's own members follow it locally: not at stake)."""
    local = f"{node.base_url}/"
    async with node.services.db.read() as session:
        return {
            (f.follower, f.target)
            for f in await session.scalars(select(Follow))
            if not (f.follower.startswith(local) and f.target.startswith(local))
        }


async def _gone(_: web.Request) -> web.StreamResponse:
    return web.Response(status=410, text="this account is gone")


async def test_a_410_from_an_actors_inbox_marks_it_gone_and_stops_its_deliveries(nodes, peer):
    clock = FrozenClock(datetime.now(UTC))
    node, chapter, token = await chapter_node(
        nodes, clock=clock, run_workers=False, delivery_per_host=1
    )
    mallory, eve = peer.actor_id("mallory"), peer.actor_id("eve")
    mallory_inbox = peer.serve("/actors/mallory/inbox", _gone)
    for who in ("mallory", "eve"):
        follow = build_follow(peer.activity_id("follow"), peer.actor_id(who), chapter)
        reply = await peer.post(f"{chapter}/inbox", follow, as_actor=who, now=clock.now())
        assert reply.status == 202, reply.detail
    await InboxWorker(node.services).run_once()  # both follows accepted (Accepts queued)
    olga = node.services.ids.actor("olga")
    await add_followers(node, mallory, [(olga, None)])  # and a member of ours follows her
    assert await _follows(node) == {(mallory, chapter), (eve, chapter), (olga, mallory)}
    await publish(node, token)  # a call for every follower: one more row for her inbox

    worker = DeliveryWorker(node.services)  # one row per run: every row goes to one host
    while any(r.state == "pending" for r in await deliveries(node)):
        assert await worker.run_once() == 1

    to_her = [r for r in await deliveries(node) if r.inbox == mallory_inbox]
    assert len(to_her) == 2 and all(r.state == "dead" for r in to_her)
    answered = [r for r in to_her if r.attempts]
    assert len(answered) == 1 and answered[0].last_status == 410
    assert all(r.last_error.startswith("gone: HTTP 410") for r in to_her)
    assert len(peer.hits("/actors/mallory/inbox", "POST")) == 1  # the rest never sent
    others = [r for r in await deliveries(node) if r.inbox != mallory_inbox]
    assert others and all(r.state == "sent" for r in others)

    assert (await _remote(node, mallory)).gone_at == clock.now()
    assert (await _remote(node, eve)).gone_at is None
    assert await _follows(node) == {(eve, chapter)}

    await node.services.resolver.fetch_actor(mallory)  # her document is served again
    assert (await _remote(node, mallory)).gone_at is None


async def test_a_410_for_an_actor_document_marks_it_gone(nodes, peer):
    clock = FrozenClock(datetime.now(UTC))
    node, chapter, token = await chapter_node(nodes, clock=clock, run_workers=False)
    mallory = peer.actor_id("mallory")
    actor = await node.services.resolver.fetch_actor(mallory)
    await add_followers(node, chapter, [(mallory, actor.inbox)])
    await publish(node, token)
    [pending] = await deliveries(node)
    assert pending.inbox == actor.inbox and pending.state == "pending"

    peer.serve("/actors/mallory", _gone)
    with pytest.raises(ResolveError, match="410"):
        await node.services.resolver.fetch_actor(mallory)

    assert (await _remote(node, mallory)).gone_at == clock.now()
    assert await _follows(node) == set()
    [stopped] = await deliveries(node)
    assert (stopped.state, stopped.attempts) == ("dead", 0)
    assert stopped.last_error.startswith("gone: ")
    assert peer.hits("/actors/mallory/inbox", "POST") == []

    peer.add_actor("mallory", endpoints={})  # back (an account restored, a mistake undone)
    await node.services.resolver.fetch_actor(mallory)
    assert (await _remote(node, mallory)).gone_at is None


async def test_a_410_from_a_shared_inbox_stops_it_but_names_no_actor(nodes, peer):
    node, chapter, token = await chapter_node(nodes, run_workers=False, delivery_per_host=1)
    eve = peer.actor_id("eve")
    actor = await node.services.resolver.fetch_actor(eve)
    assert actor.shared_inbox == peer.url("/inbox")
    await add_followers(node, chapter, [(eve, actor.shared_inbox)])
    peer.serve("/inbox", _gone)
    await publish(node, token)
    await publish(node, token, title="Second clean-up")
    assert await DeliveryWorker(node.services).run_once() == 1  # one at a time to the host
    first, second = await deliveries(node)
    assert (first.state, first.last_status, first.attempts) == ("dead", 410, 1)
    assert (second.state, second.attempts) == ("dead", 0)  # stopped, never sent
    assert second.last_error.startswith("gone: HTTP 410")
    assert len(peer.hits("/inbox", "POST")) == 1
    assert await _follows(node) == set()
    assert (await _remote(node, eve)).gone_at is None  # a shared inbox is no one actor's


async def test_an_actor_deleting_itself_is_marked_gone_and_its_follows_end(nodes, peer):
    """Mastodon announces an account's deletion with a ``Delete`` whose object is the actor,
    signed while its key is still served: the account is gone from then on."""
    clock = FrozenClock(datetime.now(UTC))
    node, chapter, _token = await chapter_node(nodes, clock=clock, run_workers=False)
    mallory = peer.actor_id("mallory")
    follow = build_follow(peer.activity_id("follow"), mallory, chapter)
    reply = await peer.post(f"{chapter}/inbox", follow, as_actor="mallory", now=clock.now())
    assert reply.status == 202, reply.detail
    await InboxWorker(node.services).run_once()
    assert (mallory, chapter) in await _follows(node)

    delete = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": peer.activity_id("delete"),
        "type": "Delete",
        "actor": mallory,
        "object": mallory,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }
    reply = await peer.post(f"{chapter}/inbox", delete, as_actor="mallory", now=clock.now())
    assert reply.status == 202, reply.detail
    await InboxWorker(node.services).run_once()
    assert (await _remote(node, mallory)).gone_at is not None
    assert await _follows(node) == set()
