"""Reminders (one row per call, offset and start time) and the people and calls the reminder
sweep works on: who is reminded, which organisers are told, which calls still owe a report.

A reminder is claimed by a conditional UPDATE (``pending`` → ``sent`` where it is still
``pending``) in the unit of work that records its notifications: two processes sweeping the
same database (``serve`` and ``worker``) never both send one, and a crash before the commit
leaves it pending for the next sweep."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignore
from storage.models import (
    ActionCall,
    Commitment,
    ImpactReport,
    LocalActor,
    Notification,
    Participant,
    Reminder,
)
from storage.models.states import (
    HOPING_STATES,
    ActorKind,
    CommitmentState,
    ReminderState,
    Role,
)

CANCELLED = "CANCELLED"  # ActionCall.status of a cancelled call (protocol.events.CANCELLED)
ORGANISER_ROLES = (Role.ORGANISER, Role.ADMIN)


@dataclass(frozen=True, slots=True)
class Upcoming:
    """A call the sweep schedules reminders for."""

    id: int
    start: datetime
    chapter_id: int | None  # the local chapter; None for a call elsewhere


async def upcoming_calls(session: AsyncSession, now: datetime, until: datetime) -> list[Upcoming]:
    """Calls starting after ``now`` and by ``until``, not cancelled, that someone here may be
    reminded of: ours (any participant may be), and calls elsewhere that one of our members
    answered and still hopes to go to."""
    hoping = exists().where(
        Commitment.call == ActionCall.ap_id, Commitment.state.in_(list(HOPING_STATES))
    )
    rows = await session.execute(
        select(ActionCall.id, ActionCall.start_time, ActionCall.local_actor_id)
        .where(
            ActionCall.start_time > now,
            ActionCall.start_time <= until,
            ActionCall.status != CANCELLED,
        )
        .where((ActionCall.local_actor_id.is_not(None)) | hoping)
        .order_by(ActionCall.start_time, ActionCall.id)
    )
    return [Upcoming(i, start, chapter) for i, start, chapter in rows]


async def scheduled(
    session: AsyncSession, call_ids: Collection[int]
) -> set[tuple[int, int, datetime]]:
    """(call id, offset, start) of every reminder row already recorded for these calls."""
    if not call_ids:
        return set()
    rows = await session.execute(
        select(Reminder.call_id, Reminder.offset_minutes, Reminder.start_time).where(
            Reminder.call_id.in_(list(call_ids))
        )
    )
    return {(c, o, s) for c, o, s in rows}


async def add_missing(session: AsyncSession, values: Sequence[dict[str, Any]]) -> int:
    """Record reminders unless their (call, offset, start) is there already (another process
    may be scheduling the same ones); returns how many were new."""
    added = 0
    table = Reminder.__table__
    for row in values:
        stmt = insert_ignore(session, table, ["call_id", "offset_minutes", "start_time"])  # type: ignore[arg-type]
        result = await session.execute(stmt.values(**row))
        added += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return added


async def due(session: AsyncSession, now: datetime, limit: int) -> list[int]:
    """Pending reminders whose time has come, earliest first."""
    rows = await session.scalars(
        select(Reminder.id)
        .where(Reminder.state == ReminderState.PENDING, Reminder.due_at <= now)
        .order_by(Reminder.due_at, Reminder.id)
        .limit(limit)
    )
    return list(rows)


async def claim(session: AsyncSession, reminder_id: int, now: datetime) -> Reminder | None:
    """Take a pending reminder (it becomes ``sent``); None when another process took it or it
    is no longer pending. The caller's commit makes the claim and what it sent one fact."""
    result = await session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id, Reminder.state == ReminderState.PENDING)
        .values(state=ReminderState.SENT, sent_at=now)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return await session.get(Reminder, reminder_id, populate_existing=True)


async def later_one_due(session: AsyncSession, reminder: Reminder, now: datetime) -> bool:
    """Whether a reminder of the same call and start, closer to it, is due as well (the node
    was down through both): only that one is worth sending."""
    found = await session.scalar(
        select(Reminder.id)
        .where(
            Reminder.call_id == reminder.call_id,
            Reminder.start_time == reminder.start_time,
            Reminder.offset_minutes < reminder.offset_minutes,
            Reminder.state == ReminderState.PENDING,
            Reminder.due_at <= now,
        )
        .limit(1)
    )
    return found is not None


async def members_to_remind(session: AsyncSession, call: str) -> list[str]:
    """Our members with an accepted place in ``call`` (here or elsewhere) who keep reminders on."""
    rows = await session.scalars(
        select(LocalActor.ap_id)
        .join(Commitment, Commitment.member_id == LocalActor.id)
        .where(
            Commitment.call == call,
            Commitment.state == CommitmentState.ACCEPTED,
            LocalActor.kind == ActorKind.MEMBER,
            LocalActor.reminders.is_(True),
        )
        .order_by(Commitment.id)
    )
    return list(rows)


async def members_hoping(session: AsyncSession, call: str) -> list[str]:
    """Our members whose commitment to ``call`` is pending, accepted or waitlisted: a change
    of its time or place, or its cancellation, concerns them."""
    rows = await session.scalars(
        select(LocalActor.ap_id)
        .join(Commitment, Commitment.member_id == LocalActor.id)
        .where(Commitment.call == call, Commitment.state.in_(list(HOPING_STATES)))
        .order_by(Commitment.id)
    )
    return list(rows)


async def remote_participants(
    session: AsyncSession, call_id: int, states: Collection[str] | None = None
) -> list[str]:
    """The people taking part in our call ``call_id`` who are not local actors (our members
    are told through their commitments), in ``states`` (None: any)."""
    local = exists().where(LocalActor.ap_id == Participant.actor)
    stmt = select(Participant.actor).where(Participant.call_id == call_id, ~local)
    if states is not None:
        stmt = stmt.where(Participant.state.in_(list(states)))
    return list(await session.scalars(stmt.order_by(Participant.id)))


async def chapter_offsets(session: AsyncSession) -> dict[int, Any]:
    """Local chapters' own reminder offsets (as stored), for those that set them."""
    rows = await session.execute(
        select(LocalActor.id, LocalActor.reminder_offsets).where(
            LocalActor.reminder_offsets.is_not(None)
        )
    )
    return {i: offsets for i, offsets in rows if offsets is not None}


async def calls_owing_a_report(
    session: AsyncSession, ended_after: datetime, ended_before: datetime, kind: str
) -> list[ActionCall]:
    """Our chapters' calls (not cancelled) that ended between the two times with no report of
    this node on them, whose organisers were not yet told (no notification of ``kind`` about
    them)."""
    reported = exists().where(
        ImpactReport.call == ActionCall.ap_id, ImpactReport.local_actor_id.is_not(None)
    )
    told = exists().where(and_(Notification.call == ActionCall.ap_id, Notification.kind == kind))
    rows = await session.scalars(
        select(ActionCall)
        .join(LocalActor, LocalActor.id == ActionCall.local_actor_id)
        .where(
            LocalActor.kind == ActorKind.CHAPTER,
            ActionCall.status != CANCELLED,
            ActionCall.end_time > ended_after,
            ActionCall.end_time <= ended_before,
            ~reported,
            ~told,
        )
        .order_by(ActionCall.end_time, ActionCall.id)
    )
    return list(rows)
