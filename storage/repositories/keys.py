"""Superseded remote keys: key ids an actor replaced, refused by every process.

A web process verifies signatures with keys it cached in memory, while the actor ``Update``
that replaced a key may be handled by a worker process. The table is how every process
learns of the replacement: each polls for rows newer than the last it saw.

A row names one of two things. A plain key id: the actor moved to another key id, and the old
id is refused for good. Or a *retired-key marker* (:func:`retired_marker`): the actor put a
new key under the same id (Mastodon's ``#main-key``, ``chapterhouse keys rotate``), so the
id stays valid and only the old key behind it is retired. The marker is ``<key id>
sha256=<fingerprint of the old key>``: ids never hold whitespace, so a marker can never be
mistaken for a key id, and it is unique per (key id, old key), which the column already
enforces without a schema change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignore
from storage.models import SupersededKey

#: Rows a poll reads at most; a poll that reads this many reads again.
POLL_BATCH = 1000
#: What separates a marker's key id from the fingerprint of the key it retires.
MARKER_SEPARATOR = " sha256="
#: A marker whose key id is too long for the column names the id by its SHA-256 instead.
HASHED_ID_PREFIX = "sha256-id:"
_COLUMN_LENGTH = 2048


def retired_marker(key_id: str, fingerprint: str) -> str:
    """The row that retires the key with ``fingerprint`` (SHA-256 hex of its DER
    SubjectPublicKeyInfo) behind ``key_id``, which the actor keeps using with a new key."""
    marker = f"{key_id}{MARKER_SEPARATOR}{fingerprint}"
    if len(marker) <= _COLUMN_LENGTH:
        return marker
    hashed = hashlib.sha256(key_id.encode("utf-8")).hexdigest()
    return f"{HASHED_ID_PREFIX}{hashed}{MARKER_SEPARATOR}{fingerprint}"


def marker_key_id(entry: str) -> str | None:
    """For a retired-key marker, the key id it names (``""`` when only its hash fits); for a
    plain key id, None."""
    key_id, separator, _ = entry.rpartition(MARKER_SEPARATOR)
    if not separator:
        return None
    return "" if key_id.startswith(HASHED_ID_PREFIX) else key_id


async def record_superseded(session: AsyncSession, key_id: str, actor: str, now: datetime) -> None:
    """Record ``key_id`` (of ``actor``) as replaced; recording it again changes nothing."""
    table = SupersededKey.__table__
    stmt = insert_ignore(session, table, ["key_id"])  # type: ignore[arg-type]
    await session.execute(stmt.values(key_id=key_id, actor=actor, superseded_at=now))


async def record_retired(
    session: AsyncSession, marker: str, actor: str, now: datetime, *, expired_before: datetime
) -> None:
    """Record a retired-key marker. A marker recorded before ``expired_before`` no longer
    counts (the actor went back to that key since, see the resolver), so it is replaced by a
    new row: a new id is what makes every process's poll (``WHERE id > n``) see it again.
    (SQLite may give the new row the id of the one deleted when that was the highest; the
    polls read the last few ids again each time, ``SUPERSEDED_OVERLAP``, and so see it too.)
    """
    await session.execute(
        delete(SupersededKey).where(
            SupersededKey.key_id == marker, SupersededKey.superseded_at < expired_before
        )
    )
    await record_superseded(session, marker, actor, now)


async def superseded_since(
    session: AsyncSession, after_id: int, *, limit: int = POLL_BATCH
) -> Sequence[SupersededKey]:
    """Rows with an id above ``after_id``, oldest first (a poll's cheap ``WHERE id > n``)."""
    rows = await session.scalars(
        select(SupersededKey)
        .where(SupersededKey.id > after_id)
        .order_by(SupersededKey.id)
        .limit(limit)
    )
    return list(rows)


async def superseded_at(session: AsyncSession, entry: str) -> datetime | None:
    """When ``entry`` (a key id or a marker) was recorded, or None if it never was."""
    found: datetime | None = await session.scalar(
        select(SupersededKey.superseded_at).where(SupersededKey.key_id == entry).limit(1)
    )
    return found


async def is_superseded(session: AsyncSession, key_id: str) -> bool:
    found = await session.scalar(
        select(SupersededKey.id).where(SupersededKey.key_id == key_id).limit(1)
    )
    return found is not None
