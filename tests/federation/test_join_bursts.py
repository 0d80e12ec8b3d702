"""A burst of Joins of one call, handled in one inbox batch, re-signs and stores the call once.

A real node on loopback receives signed Joins from a real server (twelve people); its inbox
worker is driven one pass (one batch, one transaction), and the statements on its engines are
watched. Every Join still gets its place and its Accept, the organiser hears of each, the
followers' Update is one coalesced follow-up, and the stored document (served to anyone who
fetches the call) counts all twelve under a valid proof by the chapter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, func, select

from node.features.actors.authz import Principal
from node.features.calls.lifecycle import PARTICIPATION_UPDATE, create_action
from node.interfaces.activitypub import inbox_worker
from node.interfaces.activitypub.inbox_worker import InboxWorker
from node.runtime.clock import FrozenClock
from protocol.proofs import verify_proof
from storage.models import Delivery, FollowUp, InboxItem, Notification, OutboxActivity
from storage.repositories import actions as action_repo
from tests.rig.hostile import HostileServer
from tests.rig.http import get_json
from tests.rig.nodes import Node

PEOPLE = [f"p{i:02d}" for i in range(12)]
CALL = {
    "title": "Canal clean-up",
    "start": "2031-04-12T10:00:00+01:00",
    "end": "2031-04-12T13:00:00+01:00",
    "timezone": "Europe/London",
}


@pytest.fixture
async def peer() -> AsyncIterator[HostileServer]:
    server = await HostileServer().start()
    for name in PEOPLE:
        server.add_actor(name, name=f"Person {name}")
    yield server
    await server.stop()


@pytest.fixture(autouse=True)
def unhurried(monkeypatch) -> None:
    """No time budget: a loaded machine must not split the batch this test counts."""
    monkeypatch.setattr(inbox_worker, "BUDGET_SECONDS", 3600.0)


class CallWrites:
    """Counts the UPDATEs of the action_calls table on any engine of the process."""

    def __init__(self) -> None:
        self.count = 0
        event.listen(Engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement: str, *_args) -> None:
        if statement.lstrip().upper().startswith("UPDATE ACTION_CALLS"):
            self.count += 1

    def close(self) -> None:
        event.remove(Engine, "before_cursor_execute", self._seen)


async def _count(node: Node, stmt) -> int:
    async with node.services.db.read() as session:
        return int(await session.scalar(stmt) or 0)


async def test_a_burst_of_joins_signs_the_call_once_and_counts_everyone(nodes, peer):
    clock = FrozenClock(datetime.now(UTC))
    node = await nodes(clock=clock, run_workers=False)
    chapter = (await node.chapter("greenpark")).actor
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    row = await create_action(node.services, Principal(olga.actor, "member"), "greenpark", CALL)
    call_id = row.ap_id

    for who in PEOPLE:
        join = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": peer.activity_id("join"),
            "type": "Join",
            "actor": peer.actor_id(who),
            "object": call_id,
        }
        reply = await peer.post(f"{chapter.ap_id}/inbox", join, as_actor=who, now=clock.now())
        assert reply.status == 202, reply.detail

    writes = CallWrites()
    try:
        await InboxWorker(node.services).run_once()
    finally:
        writes.close()

    handled = select(func.count()).select_from(InboxItem).where(InboxItem.state == "processed")
    assert await _count(node, handled) == len(PEOPLE)
    # Twelve Joins, one batch: the call's document was recounted, signed and stored once.
    assert writes.count == 1, f"{len(PEOPLE)} Joins wrote the call {writes.count} times"

    async with node.services.db.read() as session:
        stored = await action_repo.call_by_ap_id(session, call_id)
        assert stored is not None
        assert stored.participant_count == len(PEOPLE)
        places = await action_repo.participants(session, stored.id)
    assert sorted(p.actor for p in places) == sorted(peer.actor_id(p) for p in PEOPLE)
    assert {p.state for p in places} == {"accepted"}

    # What anyone fetching the call sees: every place, under the chapter's valid proof.
    doc = await get_json(call_id)
    assert doc["participantCount"] == len(PEOPLE)
    key = node.services.keys.ed25519_key(chapter).public_key()
    verify_proof(doc, key, now=clock.now())

    # Each Join answered with its Accept; the organiser told of each newcomer, by name.
    accepts = (
        select(func.count())
        .select_from(Delivery)
        .join(OutboxActivity, OutboxActivity.id == Delivery.activity_id)
        .where(OutboxActivity.activity_type == "Accept")
    )
    assert await _count(node, accepts) == len(PEOPLE)
    async with node.services.db.read() as session:
        notes = list(
            await session.scalars(
                select(Notification).where(Notification.recipient == olga.actor.ap_id)
            )
        )
    assert len(notes) == len(PEOPLE)
    assert {n.kind for n in notes} == {"new_participant"}
    assert sorted(n.data["who"] for n in notes) == sorted(f"Person {p}" for p in PEOPLE)

    # The followers' Update: one durable follow-up for the call, waiting to run.
    updates = select(FollowUp).where(FollowUp.kind == PARTICIPATION_UPDATE, FollowUp.key == call_id)
    async with node.services.db.read() as session:
        scheduled = list(await session.scalars(updates))
    assert [f.state for f in scheduled] == ["pending"]
