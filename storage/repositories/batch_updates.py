"""Updates by primary key for many rows, without SQLAlchemy's per-row parameter work.

A batch of reports updates a few thousand rows (report rows, contributions, running sums) with
one ``executemany`` per kind. Through SQLAlchemy each row's parameters are built, keyed and
processed one by one, which cost more than SQLite's work on the rows. On the event loop's own
SQLite connection (``storage.inline_session``) the statement is compiled once for plain sqlite3
(as ``storage.repositories.inbox`` does for the inbox's inline insert), each column's value
conversion is looked up once (and applied only to columns that have one), and the rows go to the
driver as plain tuples. Anywhere else (PostgreSQL, the async session) the same update goes
through SQLAlchemy Core as before: same SQL, same stored forms.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, update
from sqlalchemy.dialects.sqlite import pysqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.inline_session import InlineSession


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    #: (parameter position, conversion) for the columns whose type converts values.
    conversions: tuple[tuple[int, Callable[[Any], Any]], ...]
    #: Where each of the statement's parameters is in a row (SET follows the table's column
    #: order), or None when that is the row's own order.
    order: tuple[int, ...] | None


@cache
def _compiled(table: Table, columns: tuple[str, ...], key: str) -> _Compiled:
    """``UPDATE table SET c = ?, ... WHERE key = ?`` for plain sqlite3 (tables and column
    tuples are few and fixed: the cache stays small)."""
    dialect = pysqlite.dialect()
    stmt = (
        update(table)
        .where(table.c[key] == bindparam("row_id"))
        .values({name: bindparam(f"new_{name}") for name in columns})
    )
    compiled = stmt.compile(dialect=dialect)
    names = (*(f"new_{name}" for name in columns), "row_id")
    order = tuple(names.index(name) for name in compiled.positiontup or ())
    if sorted(order) != list(range(len(names))):  # pragma: no cover - a SQLAlchemy change
        raise RuntimeError(f"unexpected parameters {compiled.positiontup}")
    conversions = []
    for position, name in enumerate(columns):
        convert = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None:
            conversions.append((position, convert))
    identity = order == tuple(range(len(names)))
    return _Compiled(compiled.string, tuple(conversions), None if identity else order)


def _driver(session: AsyncSession) -> sqlite3.Connection | None:
    """The plain sqlite3 connection under an inline session, in its transaction; else None."""
    inline: Any = session  # an ``InlineSession`` typed as the ``AsyncSession`` it stands in for
    if not isinstance(inline, InlineSession):
        return None
    raw = inline.sync_session.connection().connection.driver_connection
    return raw if isinstance(raw, sqlite3.Connection) else None


async def update_by_id(
    session: AsyncSession,
    table: Table,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    key: str = "id",
) -> None:
    """Set ``columns`` of each row: every tuple in ``rows`` is the new values, in the order
    of ``columns``, followed by the row's primary key (column ``key``)."""
    if not rows:
        return
    conn = _driver(session)
    if conn is None:
        await session.execute(
            update(table)
            .where(table.c[key] == bindparam("row_id"))
            .values({name: bindparam(f"new_{name}") for name in columns})
            .execution_options(synchronize_session=False),
            [
                {"row_id": row[-1], **{f"new_{n}": v for n, v in zip(columns, row, strict=False)}}
                for row in rows
            ],
        )
        return
    compiled = _compiled(table, columns, key)
    conversions, order = compiled.conversions, compiled.order
    params: list[Any] = []
    for row in rows:
        values = list(row)
        for position, convert in conversions:
            values[position] = convert(values[position])
        params.append(values if order is None else [values[i] for i in order])
    conn.executemany(compiled.sql, params)
