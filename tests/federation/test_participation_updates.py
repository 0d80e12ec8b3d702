"""Joins and Leaves do not amplify: followers get a call's participant count at most once per
``participation_update_seconds``, from a durable follow-up that survives a restart.

Real nodes on loopback: a chapter node (its clock frozen, so "the interval" is exact), five
follower servers (one member each, following the chapter) and a joiner's node whose member
joins and leaves twenty times over real signed HTTP.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from node.features.calls.lifecycle import PARTICIPATION_UPDATE
from node.runtime.clock import FrozenClock
from storage.models import Delivery, FollowUp, InboxItem, OutboxActivity
from storage.repositories import actions as action_repo
from tests.federation.conftest import follow_and_wait
from tests.rig.api import call_api
from tests.rig.nodes import Node, eventually, start_node

INTERVAL = 60.0  # the default
FOLLOWERS = 5
PAIRS = 20
CALL = {
    "title": "Canal clean-up",
    "start": "2027-04-12T10:00:00+01:00",
    "end": "2027-04-12T13:00:00+01:00",
    "timezone": "Europe/London",
}


@dataclass
class World:
    nodes: object
    clock: FrozenClock
    hub: Node
    followers: list[Node]
    joiner: Node
    joiner_token: str
    organiser_token: str
    call_id: str


@pytest.fixture
async def world(nodes) -> World:
    clock = FrozenClock(datetime.now(UTC))
    hub = await nodes(clock=clock, participation_update_seconds=INTERVAL)
    chapter = (await hub.chapter("greenpark")).actor
    olga = await hub.member("olga", role="organiser", chapter="greenpark")
    followers = []
    for i in range(FOLLOWERS):
        node = await nodes()
        await node.member(f"f{i}")
        await follow_and_wait(node, f"f{i}", chapter.ap_id)
        followers.append(node)
    joiner = await nodes()
    jo = await joiner.member("jo")
    status, call = await call_api(
        hub.base_url, olga.token, "POST", "/api/v1/chapters/greenpark/actions", CALL
    )
    assert status == 201, call

    async def everyone_has_it() -> bool:
        return all([await _count_at(node, call["id"]) == 0 for node in followers])

    await eventually(everyone_has_it, what="the call to reach the five followers")
    return World(nodes, clock, hub, followers, joiner, jo.token, olga.token, call["id"])


async def _count_at(node: Node, call_id: str) -> int | None:
    async with node.services.db.read() as session:
        row = await action_repo.call_by_ap_id(session, call_id)
    return None if row is None else row.participant_count


async def _followers_see(w: World, count: int, what: str) -> None:
    async def check() -> bool:
        return all([await _count_at(node, w.call_id) == count for node in w.followers])

    await eventually(check, what=what)


async def _updates_per_inbox(hub: Node) -> dict[str, int]:
    async with hub.services.db.read() as session:
        rows = await session.execute(
            select(Delivery.inbox, func.count())
            .join(OutboxActivity, OutboxActivity.id == Delivery.activity_id)
            .where(OutboxActivity.activity_type == "Update")
            .group_by(Delivery.inbox)
        )
        return {inbox: n for inbox, n in rows}


def _inboxes(w: World) -> set[str]:
    return {f"{node.base_url}/inbox" for node in w.followers}


async def _join(w: World) -> None:
    status, body = await call_api(
        w.joiner.base_url, w.joiner_token, "POST", "/api/v1/rsvps", {"call": w.call_id}
    )
    assert status == 202, body

    async def accepted() -> bool:
        status, body = await call_api(
            w.joiner.base_url, w.joiner_token, "GET", "/api/v1/commitments"
        )
        return status == 200 and any(
            c["call"] == w.call_id and c["state"] == "accepted" for c in body["items"]
        )

    # The Accept is not coalesced: it comes back at once, with the chapter's clock standing still.
    await eventually(accepted, what="the Join to be accepted")


async def _leave(w: World) -> None:
    status, body = await call_api(
        w.joiner.base_url, w.joiner_token, "DELETE", f"/api/v1/rsvps?call={w.call_id}"
    )
    assert (status, body["state"]) == (200, "left"), body


async def _handled(hub: Node, activity_type: str, n: int) -> None:
    async def check() -> bool:
        async with hub.services.db.read() as session:
            done = await session.scalar(
                select(func.count())
                .select_from(InboxItem)
                .where(InboxItem.activity_type == activity_type, InboxItem.state == "processed")
            )
        return done == n

    await eventually(check, timeout=30, what=f"the chapter node to handle {n} {activity_type}s")


async def _scheduled(hub: Node, call_id: str) -> FollowUp | None:
    async with hub.services.db.read() as session:
        return await session.scalar(
            select(FollowUp).where(FollowUp.kind == PARTICIPATION_UPDATE, FollowUp.key == call_id)
        )


async def _restart(w: World) -> None:
    await w.hub.stop()
    w.hub = await start_node(w.hub.data_dir, port=w.hub.port, clock=w.clock, **w.hub.overrides)
    w.nodes.started.append(w.hub)  # type: ignore[attr-defined]


async def test_twenty_joins_and_leaves_send_each_follower_one_update_per_interval(world):
    w = world
    start = w.clock.now()
    await _join(w)
    # The first change goes out at once (nothing was sent in the last interval).
    await _followers_see(w, 1, "the first Join's count at the five followers")
    assert await _updates_per_inbox(w.hub) == dict.fromkeys(_inboxes(w), 1)

    await _leave(w)
    for _ in range(PAIRS - 1):
        await _join(w)
        await _leave(w)
    await _handled(w.hub, "Join", PAIRS)
    await _handled(w.hub, "Leave", PAIRS)
    # Local pages are right at once...
    assert await _count_at(w.hub, w.call_id) == 0
    # ...while the followers' Update waits for the interval: one row, due a minute after the
    # first Update, and no Update queued for the 39 changes since.
    row = await _scheduled(w.hub, w.call_id)
    assert row is not None and row.state == "pending"
    assert row.next_attempt_at == start + timedelta(seconds=INTERVAL)
    assert await _updates_per_inbox(w.hub) == dict.fromkeys(_inboxes(w), 1)

    # Durable: the node restarts before the update is due, and it is still sent.
    await _restart(w)
    await asyncio.sleep(1.5)  # the follow-up worker polls every second: nothing is due yet
    assert await _updates_per_inbox(w.hub) == dict.fromkeys(_inboxes(w), 1)
    assert all([await _count_at(node, w.call_id) == 1 for node in w.followers])

    w.clock.advance(timedelta(seconds=INTERVAL + 1))
    await _followers_see(w, 0, "the final count at the five followers after the interval")
    assert await _updates_per_inbox(w.hub) == dict.fromkeys(_inboxes(w), 2)
    row = await _scheduled(w.hub, w.call_id)
    assert row is not None and row.state == "done"


async def test_an_organisers_edit_goes_out_at_once_and_absorbs_the_pending_update(world):
    w = world
    await _join(w)
    await _followers_see(w, 1, "the first Join's count at the five followers")
    await _leave(w)
    await _handled(w.hub, "Leave", 1)
    row = await _scheduled(w.hub, w.call_id)
    assert row is not None and row.state == "pending"  # the count 0, due in a minute

    status, body = await call_api(
        w.hub.base_url,
        w.organiser_token,
        "PATCH",
        f"/api/v1/chapters/greenpark/actions/{w.call_id.rsplit('/', 1)[1]}",
        {"title": "Canal clean-up (Lock 8)"},
    )
    assert status == 200, body
    # The edit is not held back, and carries the current count (0) with it.
    await _followers_see(w, 0, "the organiser's edit at the five followers")
    assert await _updates_per_inbox(w.hub) == dict.fromkeys(_inboxes(w), 2)
    row = await _scheduled(w.hub, w.call_id)
    assert row is not None and row.state == "done"  # absorbed: nothing left to send

    w.clock.advance(timedelta(seconds=INTERVAL + 1))
    await asyncio.sleep(1.5)
    assert await _updates_per_inbox(w.hub) == dict.fromkeys(_inboxes(w), 2)
