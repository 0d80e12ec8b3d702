"""Reads and writes for moving a chapter between nodes: whose follows a ``Move`` re-points, and
every row a chapter export carries (its members, calls with their participants and attendance,
and reports)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ActionCall,
    Attendance,
    Follow,
    ImpactReport,
    LocalActor,
    Membership,
    Participant,
)


async def local_follows_of(session: AsyncSession, target: str) -> list[Follow]:
    """Every follow (any state) of ``target`` by an actor of this node, oldest first."""
    stmt = (
        select(Follow)
        .where(Follow.target == target, Follow.follower.in_(select(LocalActor.ap_id)))
        .order_by(Follow.id)
    )
    return list(await session.scalars(stmt))


async def members_of(session: AsyncSession, chapter_id: int) -> list[tuple[LocalActor, Membership]]:
    """A local chapter's members (every role, active or not) with their membership rows."""
    stmt = (
        select(LocalActor, Membership)
        .join(Membership, Membership.member_id == LocalActor.id)
        .where(Membership.chapter_id == chapter_id)
        .order_by(Membership.id)
    )
    return [(actor, membership) for actor, membership in (await session.execute(stmt)).all()]


async def calls_of(session: AsyncSession, chapter_id: int) -> list[ActionCall]:
    """A local chapter's own calls, oldest first."""
    stmt = (
        select(ActionCall)
        .where(ActionCall.local_actor_id == chapter_id)
        .order_by(ActionCall.start_time, ActionCall.id)
    )
    return list(await session.scalars(stmt))


async def participants_of(session: AsyncSession, call_ids: Sequence[int]) -> list[Participant]:
    if not call_ids:
        return []
    stmt = select(Participant).where(Participant.call_id.in_(call_ids)).order_by(Participant.id)
    return list(await session.scalars(stmt))


async def attendance_of(session: AsyncSession, call_ids: Sequence[int]) -> list[Attendance]:
    if not call_ids:
        return []
    stmt = select(Attendance).where(Attendance.call_id.in_(call_ids)).order_by(Attendance.id)
    return list(await session.scalars(stmt))


async def reports_of(session: AsyncSession, chapter: str) -> list[ImpactReport]:
    """Every report a chapter (an actor id) published that we hold, oldest first."""
    stmt = select(ImpactReport).where(ImpactReport.chapter == chapter).order_by(ImpactReport.id)
    return list(await session.scalars(stmt))
