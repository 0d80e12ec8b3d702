"""Received activities: the durable inbox (unique by activity id).

Handled items are purged in two steps (``node/federation/retention.py``): first their bodies
give way to an empty object, :data:`TOMBSTONE` (the id and the body's fingerprint stay, so a
re-delivery is still recognised as a duplicate, or refused as a conflict), later the rows go.
"""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Final

import orjson
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Text,
    any_,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import pysqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignore
from storage.models import InboxItem
from storage.models.activity import FAILED, PROCESSED, RECEIVED
from storage.types import JSONDocument

#: A purged item's body as stored: an empty object (the column is not nullable), read back
#: as ``{}``.
TOMBSTONE: Final = "{}"
#: Items whose handling is over, for good: the purge may drop their bodies, then the rows.
HANDLED = (PROCESSED, FAILED)


async def insert_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int | None:
    """Insert received activities in one statement; known activity ids are skipped.

    Returns how many rows were inserted: SQLite reports it as the row count; PostgreSQL's
    driver does not, so there the inserted ids come back with ``RETURNING``. None if unknown.
    """
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        return await _insert_many_postgresql(session, rows)
    stmt = insert_ignore(session, InboxItem.__table__, ["activity_id"])  # type: ignore[arg-type]
    result = await session.execute(stmt, list(rows))
    count = getattr(result, "rowcount", -1)
    return count if isinstance(count, int) and count >= 0 else None


#: PostgreSQL: a batch of arrivals as one array per column, in arrival order. One statement text
#: whatever the batch's size, so each connection prepares it once; a multi-row ``VALUES`` (what
#: an executemany with ``RETURNING`` becomes) is a new statement, parsed and planned anew, for
#: every size of batch.
_POSTGRES_INSERT = text(
    "INSERT INTO inbox_items"
    " (activity_id, activity_type, actor, body, body_sha256, state, attempts, received_at)"
    " SELECT activity_id, activity_type, actor, body, body_sha256, state, attempts, received_at"
    " FROM unnest(CAST(:activity_id AS varchar[]), CAST(:activity_type AS varchar[]),"
    " CAST(:actor AS varchar[]), CAST(:body AS text[]), CAST(:body_sha256 AS varchar[]),"
    " CAST(:state AS varchar[]), CAST(:attempts AS integer[]),"
    " CAST(:received_at AS timestamptz[])) WITH ORDINALITY AS arrival(activity_id, activity_type,"
    " actor, body, body_sha256, state, attempts, received_at, n)"
    " ORDER BY n"
    " ON CONFLICT (activity_id) DO NOTHING RETURNING activity_id"
)


async def _insert_many_postgresql(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    document = JSONDocument()
    dialect = session.get_bind().dialect
    columns: dict[str, list[Any]] = {name: [] for name in ARRIVAL_COLUMNS}
    for row in rows:
        for name in ARRIVAL_COLUMNS:
            value = row[name]
            if name == "body":
                value = document.process_bind_param(value, dialect)
            columns[name].append(value)
    returned = await session.execute(_POSTGRES_INSERT, columns)
    return len(returned.all())


#: Columns the inbox writes on arrival, in the order of the inline statement's parameters.
ARRIVAL_COLUMNS = (
    "activity_id",
    "activity_type",
    "actor",
    "body",
    "body_sha256",
    "state",
    "attempts",
    "received_at",
)


_arrival_values = operator.itemgetter(*ARRIVAL_COLUMNS)


@dataclass(frozen=True, slots=True)
class _InlineInsert:
    """The insert compiled for plain sqlite3 once, with the value conversions it needs."""

    sql: str
    #: (parameter position, conversion) for the columns whose type converts values.
    conversions: tuple[tuple[int, Callable[[Any], Any]], ...]

    def parameters(self, rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
        out: list[list[Any]] = []
        # A batch's rows usually share one timestamp (see node.federation.inbox.group_commit): each distinct
        # value is converted once.
        converted: dict[tuple[int, object], Any] = {}
        for row in rows:
            values = list(_arrival_values(row))
            for position, convert in self.conversions:
                value = values[position]
                if isinstance(value, datetime):
                    key = (position, value)
                    if key not in converted:
                        converted[key] = convert(value)
                    values[position] = converted[key]
                else:
                    values[position] = convert(value)
            out.append(values)
        return out


@cache
def _inline_insert() -> _InlineInsert:
    # The same SQL and the same stored forms (dates, JSON text) as the async engine's path.
    dialect = pysqlite.dialect()
    table = InboxItem.__table__
    stmt = sqlite.insert(table).on_conflict_do_nothing(  # type: ignore[arg-type]
        index_elements=["activity_id"]
    )
    compiled = stmt.compile(dialect=dialect, column_keys=list(ARRIVAL_COLUMNS))
    assert tuple(compiled.positiontup or ()) == ARRIVAL_COLUMNS
    processors = [
        (position, table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        for position, name in enumerate(ARRIVAL_COLUMNS)
    ]
    conversions = tuple((at, convert) for at, convert in processors if convert is not None)
    return _InlineInsert(compiled.string, conversions)


def insert_many_inline(conn: sqlite3.Connection, rows: Sequence[dict[str, Any]]) -> int:
    """:func:`insert_many` on a plain sqlite3 connection (``storage.inline``): known activity
    ids are skipped; returns how many rows were inserted."""
    if not rows:
        return 0
    insert = _inline_insert()
    return conn.executemany(insert.sql, insert.parameters(rows)).rowcount


def known_bodies_inline(conn: sqlite3.Connection, activity_ids: Sequence[str]) -> dict[str, str]:
    """:func:`known_bodies` on a plain sqlite3 connection (``storage.inline``)."""
    if not activity_ids:
        return {}
    rows = conn.execute(
        "SELECT activity_id, body_sha256 FROM inbox_items "
        "WHERE activity_id IN (SELECT value FROM json_each(?))",
        (orjson.dumps(list(activity_ids)).decode(),),
    )
    return {str(activity_id): str(fingerprint) for activity_id, fingerprint in rows}


def _known_bodies(activity_ids: Sequence[str]) -> Any:  # a Select of (activity id, fingerprint)
    return select(InboxItem.activity_id, InboxItem.body_sha256).where(
        InboxItem.activity_id.in_(activity_ids)
    )


async def known_bodies(session: AsyncSession, activity_ids: Sequence[str]) -> dict[str, str]:
    """activity id → SHA-256 of the body stored under it, for the ids already known."""
    if not activity_ids:
        return {}
    rows = await session.execute(_known_bodies(activity_ids))
    return {str(a): str(b) for a, b in rows}


@dataclass(frozen=True, slots=True)
class Received:
    """What handling an item needs from its row (read with Core: no ORM objects per item)."""

    id: int
    activity_id: str
    body: Any
    attempts: int


async def next_received(session: AsyncSession, limit: int, *, now: datetime) -> list[Received]:
    """Items due for handling, oldest first; an item waiting out a backoff is skipped.

    The ``(state, id)`` index serves this: it walks the received items in id order and only
    the few that wait (failed recently) are read and passed over.
    """
    table = InboxItem.__table__
    rows = await session.execute(
        select(table.c.id, table.c.activity_id, table.c.body, table.c.attempts)
        .where(
            table.c.state == RECEIVED,
            or_(table.c.next_attempt_at.is_(None), table.c.next_attempt_at <= now),
        )
        .order_by(table.c.id)
        .limit(limit)
    )
    return [Received(*row) for row in rows]


async def backlog(session: AsyncSession) -> int:
    """Items received and not yet handled (including those waiting out a backoff)."""
    stmt = select(func.count()).select_from(InboxItem).where(InboxItem.state == RECEIVED)
    return int(await session.scalar(stmt) or 0)


def _one_of(session: AsyncSession, item_ids: Sequence[int]) -> ColumnElement[bool]:
    """``id IN (...)``; on PostgreSQL ``id = ANY(array)``: one statement text whatever the count,
    so the server prepares it once per connection instead of once per batch size."""
    table = InboxItem.__table__
    if session.get_bind().dialect.name == "postgresql":
        ids = bindparam("item_ids", list(item_ids), type_=ARRAY(Integer))
        return table.c.id == any_(ids)
    return table.c.id.in_(item_ids)


async def lock_many(session: AsyncSession, item_ids: Sequence[int]) -> set[int]:
    """Take a batch of items for handling inside the caller's transaction, in one statement;
    returns the ids taken (another worker process may hold or have handled the others).

    PostgreSQL: row locks that other workers skip. SQLite: the write transaction already
    excludes other writers, and the state re-check sees items someone else just handled."""
    if not item_ids:
        return set()
    table = InboxItem.__table__
    stmt = select(table.c.id).where(_one_of(session, item_ids), table.c.state == RECEIVED)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return set(await session.scalars(stmt))


async def mark_processed_many(
    session: AsyncSession, item_ids: Sequence[int], now: datetime
) -> None:
    """Items handled in this transaction, in one statement (Core: no ORM bookkeeping)."""
    if item_ids:
        await session.execute(
            update(InboxItem.__table__)  # type: ignore[arg-type]
            .where(_one_of(session, item_ids))
            .values(state=PROCESSED, processed_at=now)
        )


async def mark_failed(
    session: AsyncSession,
    item_id: int,
    now: datetime,
    error: str,
    *,
    final: bool,
    next_attempt_at: datetime | None = None,
) -> None:
    """Count a failed attempt: failed for good if ``final``, else due again at
    ``next_attempt_at`` (None: at once)."""
    await session.execute(
        update(InboxItem)
        .where(InboxItem.id == item_id)
        .values(
            state=FAILED if final else RECEIVED,
            attempts=InboxItem.attempts + 1,
            error=error[:2000],
            processed_at=now if final else None,
            next_attempt_at=None if final else next_attempt_at,
        )
    )


def _handled_before(
    before: datetime, not_before: datetime | None, with_body: bool
) -> list[ColumnElement[bool]]:
    conditions = [InboxItem.processed_at < before]
    if not_before is not None:
        conditions.append(InboxItem.processed_at >= not_before)
    if with_body:
        conditions.append(type_coerce(InboxItem.body, Text) != TOMBSTONE)
    return conditions


async def handled_before(
    session: AsyncSession,
    state: str,
    before: datetime,
    *,
    after: int,
    limit: int,
    with_body: bool = False,
) -> list[int]:
    """Ids above ``after`` of items in ``state`` (processed or failed) handled before
    ``before`` (only those still holding a body if ``with_body``), in id order: a keyset page
    the ``(state, id)`` index serves, read in its own short transaction."""
    stmt = (
        select(InboxItem.id)
        .where(
            InboxItem.state == state,
            InboxItem.id > after,
            *_handled_before(before, None, with_body),
        )
        .order_by(InboxItem.id)
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def count_handled_before(
    session: AsyncSession,
    before: datetime,
    *,
    not_before: datetime | None = None,
    with_body: bool = False,
) -> int:
    """How many handled items :func:`handled_before` would page through (for a dry run)."""
    stmt = select(func.count()).where(
        InboxItem.state.in_(HANDLED), *_handled_before(before, not_before, with_body)
    )
    return int(await session.scalar(stmt) or 0)


async def drop_bodies(session: AsyncSession, item_ids: Sequence[int]) -> int:
    """Empty these handled items' bodies (:data:`TOMBSTONE`), keeping id and fingerprint."""
    if not item_ids:
        return 0
    result = await session.execute(
        update(InboxItem)
        .where(InboxItem.id.in_(list(item_ids)), InboxItem.state.in_(HANDLED))
        .values(body={})  # stored as TOMBSTONE
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def delete_handled(session: AsyncSession, item_ids: Sequence[int]) -> int:
    """Delete these items if handled: their ids no longer de-duplicate anything."""
    if not item_ids:
        return 0
    result = await session.execute(
        delete(InboxItem).where(InboxItem.id.in_(list(item_ids)), InboxItem.state.in_(HANDLED))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
