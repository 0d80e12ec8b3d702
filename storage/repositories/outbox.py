"""Activities published by local actors (the body is stored once, deliveries point at it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxActivity

_TABLE: Table = OutboxActivity.__table__  # type: ignore[assignment]
# Built once (an immutable Core statement: SQLAlchemy memoises its cache key and keeps the
# compiled form). No ORM object, no unit-of-work flush: publishing sits on the inbox's hot path.
_INSERT = insert(_TABLE)


async def insert_activity(
    session: AsyncSession,
    *,
    ap_id: str,
    actor_id: int,
    activity_type: str,
    body: dict[str, Any] | bytes,
    public: bool,
    now: datetime,
) -> int:
    """Store a published activity with one INSERT; returns its primary key.

    ``body`` may be the document already serialised as compact UTF-8 JSON (``orjson.dumps``),
    stored as is. A second activity with the same ``ap_id`` is an ``IntegrityError``.
    """
    params = {
        "ap_id": ap_id,
        "actor_id": actor_id,
        "activity_type": activity_type,
        "body": body,
        "public": public,
        "published_at": now,
    }
    # A CursorResult: on SQLite the key is the cursor's lastrowid, on PostgreSQL a RETURNING.
    result: Any = await session.execute(_INSERT, params)
    return int(result.inserted_primary_key[0])


async def add(
    session: AsyncSession,
    *,
    ap_id: str,
    actor_id: int,
    activity_type: str,
    body: dict[str, Any],
    public: bool,
    now: datetime,
) -> OutboxActivity:
    """The ORM way to store one (a loaded object back); publishing uses :func:`insert_activity`."""
    row = OutboxActivity(
        ap_id=ap_id,
        actor_id=actor_id,
        activity_type=activity_type,
        body=body,
        public=public,
        published_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def by_ap_id(session: AsyncSession, ap_id: str) -> OutboxActivity | None:
    return await session.scalar(select(OutboxActivity).where(OutboxActivity.ap_id == ap_id))


async def public_page(
    session: AsyncSession, actor_id: int, *, offset: int, limit: int
) -> list[OutboxActivity]:
    """An actor's public activities, newest first, by position (costs grow with ``offset``)."""
    return list(
        await session.scalars(
            select(OutboxActivity)
            .where(OutboxActivity.actor_id == actor_id, OutboxActivity.public.is_(True))
            .order_by(OutboxActivity.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )


async def public_page_before(
    session: AsyncSession, actor_id: int, before: str, *, limit: int
) -> list[OutboxActivity] | None:
    """The public activities of an actor published before its public activity ``before`` (an
    activity id), newest first: keyset paging, as cheap for the last page as for the first.
    ``None`` when ``before`` is not one of this actor's public activities."""
    anchor = await session.scalar(
        select(OutboxActivity.id).where(
            OutboxActivity.ap_id == before,
            OutboxActivity.actor_id == actor_id,
            OutboxActivity.public.is_(True),
        )
    )
    if anchor is None:
        return None
    return list(
        await session.scalars(
            select(OutboxActivity)
            .where(
                OutboxActivity.actor_id == actor_id,
                OutboxActivity.public.is_(True),
                OutboxActivity.id < anchor,
            )
            .order_by(OutboxActivity.id.desc())
            .limit(limit)
        )
    )


async def count_public(session: AsyncSession, actor_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(OutboxActivity).where(OutboxActivity.public.is_(True))
    if actor_id is not None:
        stmt = stmt.where(OutboxActivity.actor_id == actor_id)
    return int(await session.scalar(stmt) or 0)
