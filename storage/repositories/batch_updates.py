"""Updates by primary key for many rows, without SQLAlchemy's per-row parameter work.

A batch of reports updates a few thousand rows (report rows, contributions, running sums) with
one ``executemany`` per kind. Through SQLAlchemy each row's parameters are built, keyed and
processed one by one, which cost more than SQLite's work on the rows. On the event loop's own
SQLite connection (``storage.inline_session``) the statement is compiled once for plain sqlite3
(as ``storage.repositories.inbox`` does for the inbox's inline insert), each column's value
conversion is looked up once (and applied only to columns that have one), and the rows go to the
driver as plain tuples. Anywhere else (PostgreSQL, the async session) the same update goes
through SQLAlchemy Core as before: same SQL, same stored forms.

``rows_of`` and ``execute_many`` do the same for any select or insert: the statement comes from
a ``Builder`` (a module-level function of a dialect name and a shape: the sizes of its ``IN``
lists, rounded up to a power of two by ``sized``), is built once per shape and, inline, compiled
once and run by sqlite3 with its parameters and results converted as SQLAlchemy would. A
one-report batch (the inbox worker's) runs a dozen statements; through SQLAlchemy each cost
some 200 µs of building, cache keys and result wrapping, more than SQLite's work on it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Executable, Table, bindparam, update
from sqlalchemy.dialects.sqlite import pysqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

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


#: Builds one statement for a dialect name and a shape (the sizes of its ``IN`` lists): a
#: module-level function, so that it and its shapes key the caches below.
Builder = Callable[..., Executable]


def sized(count: int) -> int:
    """The ``IN`` list size that holds ``count`` values: the next power of two, so that a
    statement has a handful of shapes (and compiled forms), whatever the batch."""
    size = 1
    while size < count:
        size *= 2
    return size


def in_list(column: Any, prefix: str, size: int) -> ColumnElement[bool]:
    """``column IN (:prefix0, ..., :prefixN)``, parameters typed as the column (a table's
    column or an ORM attribute)."""
    result: ColumnElement[bool] = column.in_(
        [bindparam(f"{prefix}{i}", type_=column.type) for i in range(size)]
    )
    return result


def listed(prefix: str, values: Sequence[Any], size: int) -> dict[str, Any]:
    """Parameters for ``in_list(..., prefix, size)``: the values, the last repeated to fill."""
    return {f"{prefix}{i}": values[min(i, len(values) - 1)] for i in range(size)}


@dataclass(frozen=True, slots=True)
class _Query:
    sql: str
    names: tuple[str, ...]  # the parameters, in positional order
    defaults: tuple[Any, ...]  # each one's value when the caller gives none (a literal's)
    binds: tuple[tuple[int, Callable[[Any], Any]], ...]
    results: tuple[tuple[int, Callable[[Any], Any]], ...]


@lru_cache(maxsize=512)
def _statement(build: Builder, dialect: str, shape: tuple[Hashable, ...]) -> Executable:
    return build(dialect, *shape)


@lru_cache(maxsize=512)
def _query(build: Builder, shape: tuple[Hashable, ...]) -> _Query:
    """``build``'s SQLite statement compiled for plain sqlite3, with the value conversions
    SQLAlchemy would apply to its parameters and result columns, looked up once."""
    dialect = pysqlite.dialect()
    stmt: Any = _statement(build, "sqlite", shape)
    compiled = stmt.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    defaults = tuple(compiled.binds[name].effective_value for name in names)
    binds = []
    for position, name in enumerate(names):
        convert = compiled.binds[name].type._cached_bind_processor(dialect)
        if convert is not None:
            binds.append((position, convert))
    results = []
    for position, column in enumerate(getattr(stmt, "selected_columns", ())):
        convert = column.type._cached_result_processor(dialect, None)
        if convert is not None:
            results.append((position, convert))
    return _Query(compiled.string, names, defaults, tuple(binds), tuple(results))


def _positional(query: _Query, params: Mapping[str, Any]) -> list[Any]:
    values = [
        params.get(name, default) for name, default in zip(query.names, query.defaults, strict=True)
    ]
    for position, convert in query.binds:
        values[position] = convert(values[position])
    return values


async def rows_of(
    session: AsyncSession, build: Builder, shape: tuple[Hashable, ...], params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """The rows ``build(dialect, *shape)`` selects with ``params``, as plain tuples (values as
    SQLAlchemy returns them). On the inline SQLite connection the statement is compiled once
    and run by sqlite3 directly (module doc); elsewhere, the same statement (built once)
    through SQLAlchemy Core."""
    conn = _driver(session)
    if conn is None:
        dialect = session.get_bind().dialect.name
        result = await session.execute(_statement(build, dialect, shape), params)
        return [tuple(row) for row in result]
    query = _query(build, shape)
    found = conn.execute(query.sql, _positional(query, params)).fetchall()
    if not query.results:
        return found
    out = []
    for row in found:
        values = list(row)
        for position, convert in query.results:
            values[position] = convert(values[position])
        out.append(tuple(values))
    return out


async def execute_many(
    session: AsyncSession,
    build: Builder,
    shape: tuple[Hashable, ...],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """Run a statement that returns no rows (an insert) once per parameter set in ``rows``,
    as ``rows_of`` runs a select."""
    if not rows:
        return
    conn = _driver(session)
    if conn is None:
        dialect = session.get_bind().dialect.name
        await session.execute(_statement(build, dialect, shape), list(rows))
        return
    query = _query(build, shape)
    conn.executemany(query.sql, [_positional(query, row) for row in rows])


def insert_ignore_for(dialect: str, table: Table, conflict_columns: Sequence[str]) -> Insert:
    """``storage.dialect.insert_ignore`` for a dialect name (a ``Builder`` has no session)."""
    module: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql as module
    else:
        from sqlalchemy.dialects import sqlite as module
    stmt: Insert = module.insert(table).on_conflict_do_nothing(
        index_elements=list(conflict_columns)
    )
    return stmt


def values_of(table: Table, columns: Sequence[str], prefix: str = "v_") -> dict[str, Any]:
    """``{column: bindparam(prefix + column)}``, for an ``INSERT``'s ``values`` (a bound name
    may not be a column's own)."""
    return {name: bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in columns}
