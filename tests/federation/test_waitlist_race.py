"""Fifty Joins race for ten places from five nodes: exactly ten are admitted, forty wait.

Real nodes on loopback: a chapter node hosting a call with a capacity of 10, and five member
nodes with ten members each, all fifty RSVPing at once through their nodes' API (each a signed
Join over HTTP). The chapter answers ten with ``Accept{Join}`` and forty with no answer but a
direct message (``chapterhouse:notice`` ``rsvp_waitlisted``), which their nodes read as
``waitlisted``. Then one admitted member withdraws: the first on the waiting list gets
``Accept{Join}``, and their own node shows the place and tells them.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from storage.models import Commitment, Notification, OutboxActivity, Participant
from storage.repositories import actions as action_repo
from tests.rig.api import call_api
from tests.rig.nodes import Node, eventually

NODES = 5
PER_NODE = 10
CAPACITY = 10
CALL = {
    "title": "Canal clean-up",
    "start": "2031-04-12T10:00:00+01:00",
    "end": "2031-04-12T13:00:00+01:00",
    "timezone": "Europe/London",
    "capacity": CAPACITY,
}


async def _participants(node: Node) -> list[Participant]:
    async with node.services.db.read() as session:
        return list(await session.scalars(select(Participant).order_by(Participant.id)))


async def _sent(node: Node) -> list[dict]:
    async with node.services.db.read() as session:
        return [dict(r) for r in await session.scalars(select(OutboxActivity.body))]


async def _commitments(node: Node) -> dict[int, str]:
    async with node.services.db.read() as session:
        rows = await session.execute(select(Commitment.member_id, Commitment.state))
        return {member: state for member, state in rows}


async def _told(node: Node, member_ap_id: str, kind: str) -> bool:
    async with node.services.db.read() as session:
        found = await session.scalar(
            select(Notification.id).where(
                Notification.recipient == member_ap_id, Notification.kind == kind
            )
        )
    return found is not None


async def test_fifty_joins_from_five_nodes_fill_ten_places_and_the_list_promotes(nodes) -> None:
    chapter_node = await nodes()
    await chapter_node.chapter("greenpark", title="Green Park")
    olga = await chapter_node.member("olga", role="organiser", chapter="greenpark")
    status, call = await call_api(
        chapter_node.base_url, olga.token, "POST", "/api/v1/chapters/greenpark/actions", CALL
    )
    assert status == 201, call
    call_id = call["id"]

    member_nodes = [await nodes() for _ in range(NODES)]
    people = []  # (node, name, token, actor id)
    for n, node in enumerate(member_nodes):
        for i in range(PER_NODE):
            created = await node.member(f"m{n}x{i}")
            people.append((node, created.actor.name, created.token, created.actor.ap_id))

    async def join(node: Node, token: str) -> None:
        status, body = await call_api(
            node.base_url, token, "POST", "/api/v1/rsvps", {"call": call_id}
        )
        assert (status, body["state"]) == (202, "pending"), body

    await asyncio.gather(*(join(node, token) for node, _n, token, _a in people))

    async def all_decided() -> bool:
        return len(await _participants(chapter_node)) == NODES * PER_NODE

    await eventually(all_decided, timeout=90, what="the chapter to decide all fifty Joins")
    places = await _participants(chapter_node)
    assert [p.state for p in places].count("accepted") == CAPACITY
    assert [p.state for p in places].count("waitlisted") == NODES * PER_NODE - CAPACITY
    async with chapter_node.services.db.read() as session:
        row = await action_repo.call_by_ap_id(session, call_id)
    assert row is not None and row.participant_count == CAPACITY
    assert row.document["remainingAttendeeCapacity"] == 0

    # Ten Accepts, forty waiting-list messages, nothing else answering a Join.
    sent = await _sent(chapter_node)
    accepts = [a for a in sent if a["type"] == "Accept"]
    rejects = [a for a in sent if a["type"] == "Reject"]
    notices = [
        a
        for a in sent
        if a["type"] == "Create" and a["object"].get("chapterhouse:notice") == "rsvp_waitlisted"
    ]
    assert (len(accepts), len(rejects), len(notices)) == (CAPACITY, 0, 40)
    accepted = {p.actor for p in places if p.state == "accepted"}
    assert {a["object"]["actor"] for a in accepts} == accepted
    assert {n["object"]["to"][0] for n in notices} == {p.actor for p in places} - accepted
    assert all(n["object"]["context"] == call_id for n in notices)

    # Every member's own node shows the answer: ten accepted, forty waitlisted.
    async def every_node_knows() -> bool:
        states = []
        for node in member_nodes:
            states.extend((await _commitments(node)).values())
        return sorted(states) == ["accepted"] * 10 + ["waitlisted"] * 40

    await eventually(every_node_knows, timeout=90, what="the members' nodes to show the answers")

    # One admitted member withdraws: the first on the waiting list is promoted.
    leaver = next(p for p in people if p[3] in accepted)
    first_waiting = next(p for p in places if p.state == "waitlisted").actor
    node, _name, token, _actor = leaver
    status, body = await call_api(node.base_url, token, "DELETE", f"/api/v1/rsvps?call={call_id}")
    assert (status, body["state"]) == (200, "left"), body
    promoted = next(p for p in people if p[3] == first_waiting)

    async def promoted_at_home() -> bool:
        _status, body = await call_api(
            promoted[0].base_url, promoted[2], "GET", "/api/v1/commitments"
        )
        mine = [c for c in body["items"] if c["call"] == call_id]
        return (
            bool(mine)
            and mine[0]["state"] == "accepted"
            and await _told(promoted[0], first_waiting, "rsvp_promoted")
        )

    await eventually(promoted_at_home, timeout=60, what="the promoted member's node to show it")
    places = {p.actor: p.state for p in await _participants(chapter_node)}
    assert places[first_waiting] == "accepted" and leaver[3] not in places
    assert list(places.values()).count("accepted") == CAPACITY
    sent = await _sent(chapter_node)
    promotion = [a for a in sent if a["type"] == "Accept" and a["object"]["actor"] == first_waiting]
    assert len(promotion) == 1 and promotion[0]["object"]["object"] == call_id
