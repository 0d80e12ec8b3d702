"""Blocks, flags and RSVP bans."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ActorBlock, DomainBlock, Flag, RsvpBan
from storage.models.states import FlagState


async def domain_blocks(session: AsyncSession) -> list[DomainBlock]:
    return list(await session.scalars(select(DomainBlock).order_by(DomainBlock.host)))


async def actor_blocks(session: AsyncSession) -> list[ActorBlock]:
    return list(await session.scalars(select(ActorBlock).order_by(ActorBlock.actor)))


async def put_domain_block(
    session: AsyncSession, host: str, severity: str, reason: str | None, now: datetime
) -> None:
    row = await session.get(DomainBlock, host)
    if row is None:
        session.add(DomainBlock(host=host, severity=severity, reason=reason, created_at=now))
    else:
        row.severity, row.reason = severity, reason


async def put_actor_block(
    session: AsyncSession, actor: str, reason: str | None, now: datetime
) -> None:
    if await session.get(ActorBlock, actor) is None:
        session.add(ActorBlock(actor=actor, reason=reason, created_at=now))


async def remove_block(session: AsyncSession, host_or_actor: str) -> bool:
    a = await session.execute(delete(DomainBlock).where(DomainBlock.host == host_or_actor))
    b = await session.execute(delete(ActorBlock).where(ActorBlock.actor == host_or_actor))
    return bool(a.rowcount or b.rowcount)  # type: ignore[attr-defined]


async def add_flag(
    session: AsyncSession,
    *,
    activity_id: str | None,
    reporter: str,
    targets: list[str],
    comment: str | None,
    source: str,
    now: datetime,
) -> Flag:
    row = Flag(
        activity_id=activity_id,
        reporter=reporter,
        targets=targets,
        comment=comment,
        source=source,
        state=FlagState.OPEN,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def flags(session: AsyncSession, state: str | None = "open") -> list[Flag]:
    stmt = select(Flag).order_by(Flag.id.desc())
    if state is not None:
        stmt = stmt.where(Flag.state == state)
    return list(await session.scalars(stmt))


async def resolved_flags(session: AsyncSession, limit: int) -> list[Flag]:
    """The most recently resolved flags, newest resolution first."""
    stmt = (
        select(Flag)
        .where(Flag.state == FlagState.RESOLVED)
        .order_by(Flag.resolved_at.desc(), Flag.id.desc())
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def resolve_flag(
    session: AsyncSession, flag_id: int, *, by: str, note: str, now: datetime
) -> Flag | None:
    """Resolve the flag if it is still open, in one conditional update (two admins resolving
    at once cannot both succeed); ``None`` when no open flag has that id."""
    result = await session.execute(
        update(Flag)
        .where(Flag.id == flag_id, Flag.state == FlagState.OPEN)
        .values(state=FlagState.RESOLVED, resolved_at=now, resolved_by=by, resolution=note)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return await session.get(Flag, flag_id, populate_existing=True)


async def is_banned(session: AsyncSession, chapter_id: int, actor: str) -> bool:
    row = await session.scalar(
        select(RsvpBan.id).where(RsvpBan.chapter_id == chapter_id, RsvpBan.actor == actor)
    )
    return row is not None


async def ban(
    session: AsyncSession, chapter_id: int, actor: str, reason: str | None, now: datetime
) -> None:
    if not await is_banned(session, chapter_id, actor):
        session.add(RsvpBan(chapter_id=chapter_id, actor=actor, reason=reason, created_at=now))


def flag_json(row: Flag) -> dict[str, Any]:
    return {
        "id": row.id,
        "reporter": row.reporter,
        "targets": row.targets,
        "comment": row.comment,
        "source": row.source,
        "state": row.state,
        "created": row.created_at.isoformat(),
        "resolved": row.resolved_at.isoformat() if row.resolved_at else None,
        "resolved_by": row.resolved_by,
        "resolution": row.resolution,
    }
