"""Reads for the exports: one call's roster and attendance, and everything held about one
member (their right to data portability)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ActionCall,
    Attendance,
    Commitment,
    Flag,
    Follow,
    LocalActor,
    Membership,
    Notification,
    Participant,
    PollVote,
)


async def attendance_of_call(session: AsyncSession, call_id: int) -> list[Attendance]:
    stmt = select(Attendance).where(Attendance.call_id == call_id).order_by(Attendance.id)
    return list(await session.scalars(stmt))


@dataclass(frozen=True, slots=True)
class MemberRows:
    memberships: list[tuple[Membership, LocalActor]]
    follows: list[Follow]
    commitments: list[Commitment]
    participations: list[tuple[Participant, ActionCall]]
    attendance: list[tuple[Attendance, ActionCall]]
    votes: list[tuple[PollVote, ActionCall]]
    notifications: list[Notification]
    flags: list[Flag]


async def member_rows(session: AsyncSession, member: LocalActor) -> MemberRows:
    """Every row about ``member``: what they joined, follow, committed to, were told, filed."""
    me = member.ap_id
    memberships = (
        await session.execute(
            select(Membership, LocalActor)
            .join(LocalActor, LocalActor.id == Membership.chapter_id)
            .where(Membership.member_id == member.id)
            .order_by(Membership.id)
        )
    ).all()
    follows = await session.scalars(
        select(Follow).where(or_(Follow.follower == me, Follow.target == me)).order_by(Follow.id)
    )
    commitments = await session.scalars(
        select(Commitment).where(Commitment.member_id == member.id).order_by(Commitment.id)
    )
    participations = (
        await session.execute(
            select(Participant, ActionCall)
            .join(ActionCall, ActionCall.id == Participant.call_id)
            .where(Participant.actor == me)
            .order_by(Participant.id)
        )
    ).all()
    attendance = (
        await session.execute(
            select(Attendance, ActionCall)
            .join(ActionCall, ActionCall.id == Attendance.call_id)
            .where(Attendance.actor == me)
            .order_by(Attendance.id)
        )
    ).all()
    votes = (
        await session.execute(
            select(PollVote, ActionCall)
            .join(ActionCall, ActionCall.id == PollVote.call_id)
            .where(PollVote.actor == me)
            .order_by(PollVote.id)
        )
    ).all()
    notifications = await session.scalars(
        select(Notification).where(Notification.member_id == member.id).order_by(Notification.id)
    )
    flags = await session.scalars(select(Flag).where(Flag.reporter == me).order_by(Flag.id))
    return MemberRows(
        memberships=[(m, c) for m, c in memberships],
        follows=list(follows),
        commitments=list(commitments),
        participations=[(p, c) for p, c in participations],
        attendance=[(a, c) for a, c in attendance],
        votes=[(v, c) for v, c in votes],
        notifications=list(notifications),
        flags=list(flags),
    )
