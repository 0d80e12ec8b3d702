"""Places, waiting lists and slots of a call, decided on a real node (its own database: SQLite,
or PostgreSQL with ``CHAPTERHOUSE_TEST_DATABASE_URL``).

Joins race in separate units of work, as the inbox worker, the API and poll votes make them;
the call's row lock is what keeps its capacity."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from node.features.actors.authz import Principal
from node.features.calls.lifecycle import create_action, update_action
from node.features.calls.participation import join_local_call, leave_local_call
from node.features.calls.rsvp import RsvpError, leave, rsvp
from storage.models import ActionCall as CallRow
from storage.models import Notification, Participant
from storage.repositories import actions as action_repo
from tests.rig.nodes import Node

CALL = {
    "title": "Canal clean-up",
    "start": "2031-04-12T10:00:00+01:00",
    "end": "2031-04-12T13:00:00+01:00",
    "timezone": "Europe/London",
}
SLOTS = ["10:00-11:00 litter pickers:2", "11:00-13:00 sorting:1"]


async def _setup(node: Node, **call: Any) -> tuple[Principal, str]:
    await node.chapter("greenpark", title="Green Park")
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    who = Principal(olga.actor, "member")
    row = await create_action(node.services, who, "greenpark", {**CALL, **call})
    return who, row.ap_id


async def _join(node: Node, call_id: str, actor: str, slot: str | None = None):
    async with node.services.db.write() as session:
        decision, _row, _chapter = await join_local_call(
            session, node.services, call_id, actor, f"{actor}/join", slot=slot
        )
    return decision


async def _leave(node: Node, call_id: str, actor: str) -> bool:
    async with node.services.db.write() as session:
        return await leave_local_call(session, node.services, call_id, actor)


async def _places(node: Node, call_id: str) -> list[Participant]:
    async with node.services.db.read() as session:
        row = await action_repo.call_by_ap_id(session, call_id)
        assert row is not None
        return await action_repo.participants(session, row.id)


async def _document(node: Node, call_id: str) -> dict[str, Any]:
    async with node.services.db.read() as session:
        row = await session.scalar(select(CallRow).where(CallRow.ap_id == call_id))
        assert row is not None
        return dict(row.document)


async def _notes(node: Node, kind: str) -> list[Notification]:
    async with node.services.db.read() as session:
        rows = await session.scalars(
            select(Notification).where(Notification.kind == kind).order_by(Notification.id)
        )
        return list(rows)


def _actor(i: int) -> str:
    return f"https://peer{i % 5}.example/users/p{i}"


async def test_fifty_racing_joins_fill_ten_places_and_wait_in_order(nodes) -> None:
    node = await nodes()
    _who, call_id = await _setup(node, capacity=10)

    decisions = await asyncio.gather(*(_join(node, call_id, _actor(i)) for i in range(50)))

    assert sum(d.accepted for d in decisions) == 10
    assert sum(d.waitlisted for d in decisions) == 40
    assert sorted(d.position for d in decisions if d.waitlisted) == list(range(1, 41))
    places = await _places(node, call_id)
    assert [p.state for p in places].count("accepted") == 10
    doc = await _document(node, call_id)
    assert doc["participantCount"] == 10 and doc["remainingAttendeeCapacity"] == 0

    # A repeated Join is answered again with where it stands: nothing new is stored.
    first_waiting = next(p for p in places if p.state == "waitlisted")
    again = await _join(node, call_id, first_waiting.actor)
    assert (again.state, again.position, again.repeated) == ("waitlisted", 1, True)
    assert len(await _places(node, call_id)) == 50

    # A place frees: the first on the waiting list (id order) takes it, nobody else.
    holder = next(p for p in places if p.state == "accepted")
    assert await _leave(node, call_id, holder.actor)
    after = {p.actor: p.state for p in await _places(node, call_id)}
    assert after[first_waiting.actor] == "accepted"
    assert list(after.values()).count("accepted") == 10
    assert (await _document(node, call_id))["participantCount"] == 10
    # Leaving the waiting list frees no place and promotes nobody.
    waiting = [a for a, s in after.items() if s == "waitlisted"]
    assert await _leave(node, call_id, waiting[0])
    assert [p.state for p in await _places(node, call_id)].count("accepted") == 10


async def test_slots_hold_their_capacities(nodes) -> None:
    node = await nodes()
    _who, call_id = await _setup(node, slots=SLOTS)
    pickers, sorting = f"{call_id}#slot-1", f"{call_id}#slot-2"

    named = await _join(node, call_id, _actor(1), slot=sorting)
    assert (named.state, named.slot) == ("accepted", sorting)
    first = await _join(node, call_id, _actor(2))  # naming none: the first slot with room
    second = await _join(node, call_id, _actor(3))
    assert (first.slot, second.slot) == (pickers, pickers)
    full_slot = await _join(node, call_id, _actor(4), slot=sorting)
    assert (full_slot.state, full_slot.slot, full_slot.position) == ("waitlisted", sorting, 1)
    any_slot = await _join(node, call_id, _actor(5))
    assert (any_slot.state, any_slot.slot, any_slot.position) == ("waitlisted", None, 2)
    unknown = await _join(node, call_id, _actor(6), slot=f"{call_id}#slot-9")
    assert unknown.state == "rejected" and "slot-9" in (unknown.reason or "")
    assert _actor(6) not in {p.actor for p in await _places(node, call_id)}

    doc = await _document(node, call_id)
    assert [
        (s["participantCount"], s["remainingAttendeeCapacity"]) for s in doc["chapterhouse:slots"]
    ] == [(2, 0), (1, 0)]
    assert doc["participantCount"] == 3

    # A picker leaves: the one waiting for sorting does not fit; the one waiting for any does.
    assert await _leave(node, call_id, _actor(2))
    states = {p.actor: (p.state, p.slot) for p in await _places(node, call_id)}
    assert states[_actor(5)] == ("accepted", pickers)
    assert states[_actor(4)] == ("waitlisted", sorting)
    # The sorter leaves: the one waiting for sorting takes it.
    assert await _leave(node, call_id, _actor(1))
    states = {p.actor: (p.state, p.slot) for p in await _places(node, call_id)}
    assert states[_actor(4)] == ("accepted", sorting)
    doc = await _document(node, call_id)
    assert [s["participantCount"] for s in doc["chapterhouse:slots"]] == [2, 1]


async def test_local_rsvps_wait_get_promoted_and_are_told(nodes) -> None:
    node = await nodes()
    olga, call_id = await _setup(node, capacity=1)
    ann = Principal((await node.member("ann")).actor, "member")
    ben = Principal((await node.member("ben")).actor, "member")
    cat = Principal((await node.member("cat")).actor, "member")

    assert (await rsvp(node.services, ann, call_id)).state == "accepted"
    waiting = await rsvp(node.services, ben, call_id)
    assert (waiting.state, waiting.position) == ("waitlisted", 1)
    assert (await rsvp(node.services, cat, call_id)).position == 2
    told = {(n.recipient, n.kind) for n in await _notes(node, "rsvp_waitlisted")}
    assert told == {(ben.actor.ap_id, "rsvp_waitlisted"), (cat.actor.ap_id, "rsvp_waitlisted")}
    # Asking again answers again, and tells nobody again.
    assert (await rsvp(node.services, ben, call_id)).state == "waitlisted"
    assert len(await _notes(node, "rsvp_waitlisted")) == 2

    await leave(node.services, ann, call_id)
    promoted = await _notes(node, "rsvp_promoted")
    assert [n.recipient for n in promoted] == [ben.actor.ap_id]
    async with node.services.db.read() as session:
        mine = await action_repo.commitment(session, ben.actor.id, call_id)
    assert mine is not None and mine.state == "accepted"

    # The organiser raises the capacity: the next one waiting is promoted at once.
    await update_action(node.services, olga, call_id, {"capacity": 2})
    assert [n.recipient for n in await _notes(node, "rsvp_promoted")] == [
        ben.actor.ap_id,
        cat.actor.ap_id,
    ]
    assert (await _document(node, call_id))["participantCount"] == 2
    # The organiser heard of each new participant (ann, then ben and cat when promoted).
    news = await _notes(node, "new_participant")
    assert {n.recipient for n in news} == {olga.actor.ap_id}
    assert [n.data["who"] for n in news] == ["ann", "ben", "cat"]


async def test_an_rsvp_naming_no_slot_of_the_call_is_refused_and_nothing_is_stored(nodes) -> None:
    node = await nodes()
    _who, call_id = await _setup(node, slots=SLOTS)
    ann = Principal((await node.member("ann")).actor, "member")
    with pytest.raises(RsvpError, match="litter pickers"):
        await rsvp(node.services, ann, call_id, "juggling")
    assert await _places(node, call_id) == []
    result = await rsvp(node.services, ann, call_id, "Sorting")  # a role name, any case
    assert (result.state, result.slot) == ("accepted", f"{call_id}#slot-2")
