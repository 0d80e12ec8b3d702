"""Helpers for the reminder and change-notification tests: a chapter with a call, people taking
part in it (members here, members elsewhere, a non-Chapterhouse actor played by a
:class:`HostileServer`), and reading what each of them was told."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from protocol.activities import build_join
from storage.models import Delivery, FollowUp, Notification, Participant, Reminder
from storage.models.states import DeliveryState, FollowUpState
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo
from tests.rig.api import call_api
from tests.rig.hostile import HostileServer
from tests.rig.nodes import Node, eventually

NOTICE = "chapterhouse:notice"


def call_body(start: datetime, title: str = "Towpath clean-up", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": title,
        "start": start.isoformat(),
        "end": (start + timedelta(hours=2)).isoformat(),
        "timezone": "Europe/London",
        "place": {"name": "Lock 7", "address": "Towpath, Green Park"},
    }
    body.update(extra)
    return body


async def create_call(node: Node, token: str, body: dict[str, Any]) -> str:
    status, call = await call_api(
        node.base_url, token, "POST", "/api/v1/chapters/greenpark/actions", body
    )
    assert status == 201, call
    return str(call["id"])


async def organise(node: Node, token: str, method: str, call_id: str, path: str, body: Any) -> Any:
    ulid = call_id.rsplit("/", 1)[1]
    url = f"/api/v1/chapters/greenpark/actions/{ulid}{path}"
    status, answer = await call_api(node.base_url, token, method, url, body)
    assert status == 200, answer
    return answer


async def set_member(node: Node, name: str, **values: Any) -> None:
    """Set a member's columns directly (``email``, ``reminders``)."""
    async with node.services.db.write() as session:
        actor = await actor_repo.local_actor_by_name(session, name)
        assert actor is not None
        for key, value in values.items():
            setattr(actor, key, value)


async def rsvp(node: Node, token: str, call_id: str) -> None:
    status, body = await call_api(node.base_url, token, "POST", "/api/v1/rsvps", {"call": call_id})
    assert status in (200, 201, 202), body


async def commitment_state(node: Node, name: str, call_id: str) -> str | None:
    async with node.services.db.read() as session:
        member = await actor_repo.local_actor_by_name(session, name)
        assert member is not None
        row = await action_repo.commitment(session, member.id, call_id)
    return None if row is None else row.state


async def wait_accepted(node: Node, name: str, call_id: str) -> None:
    async def accepted() -> bool:
        return await commitment_state(node, name, call_id) == "accepted"

    await eventually(accepted, timeout=30, what=f"{name}'s RSVP to be accepted")


async def join_from(
    peer: HostileServer, who: str, node: Node, chapter: str, call_id: str, now: datetime
) -> None:
    """``who`` on the peer (no Chapterhouse: a Mastodon-like account) joins the call by a signed
    Join; returns once the chapter holds their place."""
    join = build_join(peer.activity_id("join"), peer.actor_id(who), call_id, chapter)
    reply = await peer.post(f"{node.base_url}/inbox", join, as_actor=who, now=now)
    assert reply.status == 202, reply.problem

    async def placed() -> bool:
        async with node.services.db.read() as session:
            row = await action_repo.call_by_ap_id(session, call_id)
            assert row is not None
            place = await session.scalar(
                select(Participant).where(
                    Participant.call_id == row.id, Participant.actor == peer.actor_id(who)
                )
            )
        return place is not None

    await eventually(placed, timeout=30, what=f"{who}'s Join to be admitted")


async def notices(
    node: Node, kind: str, recipient: str | None = None, call: str | None = None
) -> list[Notification]:
    async with node.services.db.read() as session:
        stmt = select(Notification).where(Notification.kind == kind)
        if recipient is not None:
            stmt = stmt.where(Notification.recipient == recipient)
        if call is not None:
            stmt = stmt.where(Notification.call == call)
        return list(await session.scalars(stmt.order_by(Notification.id)))


async def reminder_rows(node: Node, call_id: str) -> list[Reminder]:
    async with node.services.db.read() as session:
        row = await action_repo.call_by_ap_id(session, call_id)
        assert row is not None
        return list(
            await session.scalars(
                select(Reminder)
                .where(Reminder.call_id == row.id)
                .order_by(Reminder.start_time, Reminder.offset_minutes.desc())
            )
        )


def schedule_of(rows: list[Reminder]) -> list[tuple[int, datetime, str]]:
    return [(r.offset_minutes, r.start_time, r.state) for r in rows]


def direct_messages(peer: HostileServer, notice: str, call: str | None = None) -> list[dict]:
    """The direct messages (``Create{Note}`` with our notice) the peer received, by note id
    (a delivery retried after a crash is the same message)."""
    found: dict[str, dict] = {}
    for body in peer.posts():
        note = body.get("object")
        if body.get("type") != "Create" or not isinstance(note, dict):
            continue
        if note.get(NOTICE) != notice or (call is not None and note.get("url") != call):
            continue
        found.setdefault(str(note["id"]), note)
    return list(found.values())


async def deliveries_settled(node: Node) -> None:
    """Wait until the node has no delivery left to make."""

    async def idle() -> bool:
        async with node.services.db.read() as session:
            waiting = await session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.state == DeliveryState.PENDING)
            )
        return not waiting

    await eventually(idle, timeout=30, what="every delivery to be made")


async def emails_settled(node: Node) -> None:
    """Wait until the node has no e-mail left to send: a frozen clock moved on while a sent
    e-mail's follow-up is still being recorded would let its lease lapse and send it again."""

    async def idle() -> bool:
        async with node.services.db.read() as session:
            waiting = await session.scalar(
                select(func.count())
                .select_from(FollowUp)
                .where(
                    FollowUp.kind == "notification_email",
                    FollowUp.state == FollowUpState.PENDING,
                )
            )
        return not waiting

    await eventually(idle, timeout=30, what="every e-mail to be sent")
