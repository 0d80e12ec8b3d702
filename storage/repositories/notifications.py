"""Notifications: recorded once per person and event, listed, marked read; reminders due."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignore
from storage.models import Notification


async def add_if_absent(session: AsyncSession, values: dict[str, Any]) -> Notification | None:
    """Record a notification unless this person already has one with its ``key``; returns the
    new row, or None when it was there already (the event was seen before)."""
    table = Notification.__table__
    result = await session.execute(
        insert_ignore(session, table, ["recipient", "key"]).values(**values)  # type: ignore[arg-type]
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return await session.scalar(
        select(Notification).where(
            Notification.recipient == values["recipient"], Notification.key == values["key"]
        )
    )


async def add_many_if_absent(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """``add_if_absent`` for several people at once (one statement; rows with the same keys),
    for callers that need no row back."""
    if not rows:
        return
    table = Notification.__table__
    stmt = insert_ignore(session, table, ["recipient", "key"])  # type: ignore[arg-type]
    await session.execute(stmt, list(rows))


async def by_id(session: AsyncSession, notification_id: int) -> Notification | None:
    return await session.get(Notification, notification_id)


async def set_email_state(
    session: AsyncSession, notification_id: int, state: str | None, *, only_if: str
) -> bool:
    """Move a notification's e-mail from ``only_if`` to ``state`` (None: no e-mail is due any
    more); whether it was still ``only_if`` (a second worker finding it done changes nothing)."""
    result = await session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.email_state == only_if)
        .values(email_state=state)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def of_member(
    session: AsyncSession, member_id: int, *, unread_only: bool = False, limit: int = 50
) -> list[Notification]:
    stmt = select(Notification).where(Notification.member_id == member_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(await session.scalars(stmt.order_by(Notification.id.desc()).limit(limit)))


async def unread_count(session: AsyncSession, member_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count()).where(
                Notification.member_id == member_id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


async def mark_read(
    session: AsyncSession, member_id: int, ids: Sequence[int] | None, now: datetime
) -> int:
    """Mark the member's notifications read (those in ``ids``, or all); returns how many."""
    stmt = update(Notification).where(
        Notification.member_id == member_id, Notification.read_at.is_(None)
    )
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(list(ids)))
    result = await session.execute(stmt.values(read_at=now))
    return int(result.rowcount)  # type: ignore[attr-defined]
