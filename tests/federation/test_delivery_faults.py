"""Delivery under faults: slow, dead, gone and rate-limiting peers; outages; key rotation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from aiohttp import web
from sqlalchemy import select

from node.features.actors.local import rotate_keys
from node.features.following.follow import follow
from node.federation.delivery.dispatcher import DeliveryWorker
from node.runtime.clock import FrozenClock
from storage.models import ActionCall, Delivery, Domain, Follow, InboxItem
from tests.rig.api import call_api
from tests.rig.bulk import add_followers
from tests.rig.nodes import Node, eventually
from tests.rig.sink import Sink

CALL = {
    "title": "Canal clean-up",
    "start": "2027-04-12T10:00:00+01:00",
    "end": "2027-04-12T13:00:00+01:00",
    "timezone": "Europe/London",
    "place": "Lock 7",
}


async def chapter_node(nodes, **overrides) -> tuple[Node, str, str]:
    node = await nodes(**overrides)
    chapter = (await node.chapter("greenpark")).actor
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    return node, chapter.ap_id, olga.token


async def publish(node: Node, token: str, **changes) -> dict:
    status, call = await call_api(
        node.base_url, token, "POST", "/api/v1/chapters/greenpark/actions", {**CALL, **changes}
    )
    assert status == 201, call
    return call


async def deliveries(node: Node) -> list[Delivery]:
    async with node.services.db.read() as session:
        return list(await session.scalars(select(Delivery).order_by(Delivery.id)))


async def sinks(count: int, **kwargs) -> list[Sink]:
    return [await Sink(**kwargs).start() for _ in range(count)]


async def test_a_slow_host_does_not_hold_back_the_others(nodes):
    node, chapter, token = await chapter_node(nodes, delivery_concurrency=8, delivery_per_host=2)
    fast = await sinks(20)
    slow = await Sink(delay=10).start()
    try:
        await add_followers(
            node, chapter, [(f"{s.base_url}/actor", s.inbox) for s in [slow, *fast]]
        )
        await publish(node, token)
        started = asyncio.get_running_loop().time()

        async def fast_done() -> bool:
            rows = {r.inbox: r for r in await deliveries(node)}
            return all(s.received for s in fast) and all(
                rows[s.inbox].state == "sent" for s in fast
            )

        await eventually(fast_done, timeout=5, what="all 20 fast receivers to get the call")
        assert asyncio.get_running_loop().time() - started < 5
        rows = {r.inbox: r for r in await deliveries(node)}
        assert rows[slow.inbox].state == "pending"  # still waiting on the slow one
        assert len(slow.received) == 1
    finally:
        for s in [slow, *fast]:
            await s.stop()


async def test_slow_hosts_filling_every_slot_still_let_the_others_through(nodes):
    # As many unanswering hosts as the worker has slots: their deliveries step aside.
    node, chapter, token = await chapter_node(nodes, delivery_concurrency=4, delivery_per_host=1)
    slow = await sinks(4, delay=10)
    fast = await sinks(10)
    try:
        await add_followers(node, chapter, [(f"{s.base_url}/actor", s.inbox) for s in slow])
        await publish(node, token)

        async def slow_ones_busy() -> bool:
            return all(len(s.received) == 1 for s in slow)

        await eventually(slow_ones_busy, timeout=5, what="a delivery in flight to each slow host")
        await add_followers(node, chapter, [(f"{s.base_url}/actor", s.inbox) for s in fast])
        second = await publish(node, token, title="Second clean-up")

        async def fast_done() -> bool:
            return all(
                any(r.body["object"]["id"] == second["id"] for r in s.received) for s in fast
            )

        await eventually(fast_done, timeout=5, what="the fast receivers, all 4 slots being slow")
        assert all(len(s.received) == 1 for s in slow)  # still waiting on their first answers
    finally:
        for s in [*slow, *fast]:
            await s.stop()


class Hang:
    """A peer that accepts connections and never answers."""

    def __init__(self) -> None:
        self.sink = Sink(delay=3600)

    async def __aenter__(self) -> Sink:
        return await self.sink.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.sink.stop()


async def drive_until(
    worker: DeliveryWorker, node: Node, clock: FrozenClock, done, *, limit: int = 60
) -> int:
    """Run the worker, jumping the clock to each next attempt, until ``done(rows)``."""
    steps = 0
    while steps < limit:
        await worker.run_once()
        rows = await deliveries(node)
        if done(rows):
            return steps
        pending = [r.next_attempt_at for r in rows if r.state == "pending"]
        clock._now = max(clock.now(), min(pending)) + timedelta(seconds=1)
        steps += 1
    raise AssertionError(f"not done after {limit} steps: {[(r.state, r.attempts) for r in rows]}")


async def test_a_dead_host_is_dead_lettered_and_marked_unavailable(nodes):
    start = datetime(2027, 1, 1, tzinfo=UTC)
    clock = FrozenClock(start)
    node, chapter, token = await chapter_node(
        nodes, clock=clock, run_workers=False, delivery_timeout_seconds=0.2
    )
    async with Hang() as dead:
        await add_followers(node, chapter, [(f"{dead.base_url}/actor", dead.inbox)])
        await publish(node, token)
        worker = DeliveryWorker(node.services)
        await drive_until(worker, node, clock, lambda rows: rows[0].state == "dead")
        row = (await deliveries(node))[0]
        elapsed = clock.now() - start
        assert timedelta(days=5) < elapsed < timedelta(days=9), elapsed  # about a week
        assert row.attempts >= 15
        assert "gave up" in row.last_error or "maximum age" in row.last_error
        async with node.services.db.read() as session:
            domain = await session.get(Domain, dead.base_url.removeprefix("http://"))
        assert domain.unavailable_since is not None
        assert domain.unavailable_since - start >= timedelta(days=3)

        # New rows for the unavailable domain are held, not sent...
        before = len(dead.received)
        await publish(node, token, title="Second call")
        await worker.run_once()
        assert len(dead.received) == before
        assert (await deliveries(node))[-1].attempts == 0
        # ...until the domain is seen alive (here: a request from it): then they are tried.
        await node.services.note_alive(dead.base_url.removeprefix("http://"))
        await worker.run_once()
        assert len(dead.received) == before + 1
        assert (await deliveries(node))[-1].attempts == 1


async def test_gone_removes_the_follower_and_429_retry_after_is_honoured(nodes):
    clock = FrozenClock(datetime(2027, 1, 1, tzinfo=UTC))
    node, chapter, token = await chapter_node(nodes, clock=clock, run_workers=False)
    gone = await Sink(respond=lambda n, r: (410, {})).start()
    limited = await Sink(
        respond=lambda n, r: (429, {"Retry-After": "120"}) if n == 0 else (202, {})
    ).start()
    try:
        await add_followers(
            node,
            chapter,
            [(f"{gone.base_url}/actor", gone.inbox), (f"{limited.base_url}/actor", limited.inbox)],
        )
        await publish(node, token)
        worker = DeliveryWorker(node.services)
        await worker.run_once()
        rows = {r.inbox: r for r in await deliveries(node)}
        assert rows[gone.inbox].state == "dead" and rows[gone.inbox].last_status == 410
        async with node.services.db.read() as session:
            followers = list(
                await session.scalars(
                    select(Follow.follower).where(
                        Follow.target == chapter, Follow.follower_inbox.is_not(None)
                    )
                )
            )
        assert followers == [f"{limited.base_url}/actor"]  # remote ones (the organiser stays)
        assert rows[limited.inbox].state == "pending"
        assert rows[limited.inbox].next_attempt_at == clock.now() + timedelta(seconds=120)
        clock.advance(timedelta(seconds=119))
        await worker.run_once()
        assert len(limited.received) == 1  # not before Retry-After
        clock.advance(timedelta(seconds=2))
        await worker.run_once()
        assert len(limited.received) == 2
        assert {r.inbox: r for r in await deliveries(node)}[limited.inbox].state == "sent"
    finally:
        await gone.stop()
        await limited.stop()


async def test_rfc9421_first_for_peers_that_claim_it_then_cavage_after_a_401(nodes):
    node, chapter, token = await chapter_node(nodes)

    def respond(n: int, request: web.Request) -> tuple[int, dict[str, str]]:
        return (401, {}) if "Signature-Input" in request.headers else (202, {})

    peer = await Sink(respond=respond).start()
    host = peer.base_url.removeprefix("http://")
    try:
        async with node.services.db.write() as session:
            session.add(Domain(host=host, rfc9421="yes"))
        await add_followers(node, chapter, [(f"{peer.base_url}/actor", peer.inbox)])
        await publish(node, token)

        async def delivered() -> bool:
            return [r.state for r in await deliveries(node)] == ["sent"]

        await eventually(delivered, what="the delivery after the double knock")
        assert ["Signature-Input" in r.headers for r in peer.received] == [True, False]
        async with node.services.db.read() as session:
            assert (await session.get(Domain, host)).rfc9421 == "no"
        await publish(node, token, title="Second")

        async def second() -> bool:
            return len(peer.received) == 3

        await eventually(second, what="the second call")
        assert "Signature-Input" not in peer.received[2].headers  # remembered per host
    finally:
        await peer.stop()


async def _received_calls(node: Node) -> list[str]:
    async with node.services.db.read() as session:
        return list(await session.scalars(select(ActionCall.title).order_by(ActionCall.id)))


async def test_outage_then_everything_arrives_in_order(nodes):
    sender, chapter, token = await chapter_node(
        nodes, delivery_retry_base_seconds=0.2, delivery_retry_cap_seconds=1.0
    )
    receiver = await nodes()
    await receiver.member("rita")
    await follow(receiver.services, "rita", chapter)

    async def followed() -> bool:
        return bool(await _accepted(receiver))

    await eventually(followed, what="rita's follow to be accepted")
    await asyncio.sleep(0.3)  # let the receiver's (empty) backfill finish
    await receiver.stop()  # the outage begins
    call = await publish(sender, token)
    ulid = call["id"].rsplit("/", 1)[1]
    for title in ("Canal clean-up: bring boots", "Canal clean-up: bring boots and gloves"):
        status, _ = await call_api(
            sender.base_url,
            token,
            "PATCH",
            f"/api/v1/chapters/greenpark/actions/{ulid}",
            {"title": title},
        )
        assert status == 200

    async def failing() -> bool:
        rows = [r for r in await deliveries(sender) if r.inbox.startswith(receiver.base_url)]
        return len(rows) >= 3 and max(r.attempts for r in rows) >= 2

    await eventually(failing, what="deliveries to the down node to fail a few times")
    back = await nodes.restart(receiver)  # the node comes back on the same address

    async def arrived() -> bool:
        rows = [r for r in await deliveries(sender) if r.inbox == f"{back.base_url}/inbox"]
        return len(rows) == 3 and all(r.state == "sent" for r in rows)

    await eventually(arrived, what="all three activities to arrive")

    async def applied() -> bool:  # the receiver handles stored activities a moment later
        return await _received_calls(back) == ["Canal clean-up: bring boots and gloves"]

    await eventually(applied, what="the receiver to apply the last update")
    async with back.services.db.read() as session:
        items = list(await session.scalars(select(InboxItem).order_by(InboxItem.id)))
    about_call = [
        (i.activity_type, i.body["object"]["name"])
        for i in items
        if isinstance(i.body.get("object"), dict) and i.body["object"].get("id") == call["id"]
    ]
    assert about_call == [
        ("Create", "Canal clean-up"),
        ("Update", "Canal clean-up: bring boots"),
        ("Update", "Canal clean-up: bring boots and gloves"),
    ]


async def test_key_rotation_mid_stream_loses_nothing(nodes):
    # A request signed with the old key can reach a receiver that already holds the new one
    # (401); it is retried, signed anew. Short retries keep the test fast.
    sender, chapter, token = await chapter_node(nodes, delivery_retry_base_seconds=0.2)
    receiver = await nodes()
    await receiver.member("rita")
    await follow(receiver.services, "rita", chapter)

    async def followed() -> bool:
        return bool(receiver.inbox_hits()) or bool(await _accepted(receiver))

    await eventually(followed, what="rita's follow to be accepted")
    for i in range(3):
        await publish(sender, token, title=f"Before {i}")
    await rotate_keys(sender.services, "greenpark")
    for i in range(3):
        await publish(sender, token, title=f"After {i}")

    async def all_arrived() -> bool:
        return len(await _received_calls(receiver)) == 6

    try:
        await eventually(all_arrived, what="all six calls, signed before and after the rotation")
    except AssertionError:
        rows = await deliveries(sender)
        async with receiver.services.db.read() as session:
            items = [
                (i.activity_type, i.state, i.error)
                for i in await session.scalars(select(InboxItem))
            ]
        raise AssertionError(
            f"{[(r.state, r.attempts, r.last_status, r.last_error) for r in rows]} {items}"
        ) from None

    async def all_sent() -> bool:
        rows = await deliveries(sender)
        return bool(rows) and all(r.state == "sent" for r in rows)

    await eventually(all_sent, what="every delivery to be recorded as sent (none dead)")
    async with receiver.services.db.read() as session:
        from storage.repositories import actors as actor_repo

        cached = await actor_repo.remote_actor(session, chapter)
    async with sender.services.db.read() as session:
        from storage.repositories import actors as actor_repo

        current = await actor_repo.local_actor_by_name(session, "greenpark")
    assert cached.public_key_pem == current.rsa_public_pem


async def _accepted(node: Node) -> list[Follow]:
    async with node.services.db.read() as session:
        return list(await session.scalars(select(Follow).where(Follow.state == "accepted")))
