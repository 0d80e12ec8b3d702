"""Running sums: a chapter's impact by metric and unit, and a campaign's totals, adjusted by
deltas for many keys at once (a batch of reports costs a few statements, not a few per report).

Values are decimal text, so the arithmetic happens here in Python, exactly: the rows a batch
touches are created if missing (``INSERT ... ON CONFLICT DO NOTHING``), read locked (PostgreSQL;
SQLite's writer is already exclusive) in one fixed order, and written back by primary key in one
``executemany``. Concurrent writers therefore queue on the rows they share and never deadlock.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Executable, Table, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CampaignTotal, ChapterTotal
from storage.repositories.batch_updates import (
    execute_many,
    in_list,
    insert_ignore_for,
    listed,
    rows_of,
    sized,
    update_by_id,
    values_of,
)

MetricKey = tuple[str, str]
#: (chapter, metric, unit)
ChapterKey = tuple[str, str, str]
#: (campaign id, chapter or "" for campaign-wide, metric, unit)
CampaignKey = tuple[int, str, str, str]

CHUNK = 300  # keys per statement: far below SQLite's and asyncpg's bound-parameter limits
KEYS_PER_SELECT = 150  # OR terms per statement: within SQLite's expression depth (1000)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def keys_text(columns: Sequence[ColumnElement[Any]], size: int, prefix: str) -> Any:
    """``(a = ? AND b = ?) OR (a = ? AND b = ?) ...`` for ``size`` keys given as parameters
    ``prefix{i}_{j}`` (``key_params``): unlike a row-value ``(a, b) IN (...)``, which SQLite
    answers by scanning the table, each term is one index search on both SQLite (multi-index
    OR) and PostgreSQL (bitmap OR), whatever the table's size. Written as SQL text: built from
    operator expressions, a few hundred keys cost milliseconds of expression building; this
    text is the same for every chunk of one size, so it is built and compiled once."""
    names = [f'{column.table.name}."{column.name}"' for column in columns]
    terms = [
        "(" + " AND ".join(f"{name} = :{prefix}{i}_{j}" for j, name in enumerate(names)) + ")"
        for i in range(size)
    ]
    params = [
        bindparam(f"{prefix}{i}_{j}", type_=column.type)
        for i in range(size)
        for j, column in enumerate(columns)
    ]
    return text(" OR ".join(terms) or "1 = 0").bindparams(*params)


def key_params(keys: Collection[tuple[Any, ...]], size: int, prefix: str) -> dict[str, Any]:
    """The parameters of ``keys_text(..., size, prefix)``: the keys, the last repeated."""
    ordered = sorted(keys)
    params: dict[str, Any] = {}
    for i in range(size):
        for j, value in enumerate(ordered[min(i, len(ordered) - 1)]):
            params[f"{prefix}{i}_{j}"] = value
    return params


def _by_prefix(keys: Sequence[tuple[Any, ...]], width: int) -> dict[tuple[Any, ...], set[Any]]:
    """Group keys by their columns before the last of the ``width`` searched ones: each group
    is one ``col = ? AND ... AND last IN (...)`` search of the unique index's prefix."""
    groups: dict[tuple[Any, ...], set[Any]] = {}
    for key in keys:
        groups.setdefault(tuple(key[: width - 1]), set()).add(key[width - 1])
    return groups


_TABLES: dict[str, tuple[Table, tuple[str, ...]]] = {
    "chapter_totals": (ChapterTotal.__table__, ("chapter", "metric", "unit")),  # type: ignore[dict-item]
    "campaign_totals": (
        CampaignTotal.__table__,  # type: ignore[dict-item]
        ("campaign_id", "chapter", "metric", "unit"),
    ),
}


def _current_stmt(dialect: str, name: str, size: int) -> Executable:
    """The rows of one prefix of the unique key (``_current``), its last column ``IN`` a list
    of ``size``; parameters ``p0``... for the prefix, ``l0``... for the list."""
    table, columns = _TABLES[name]
    width = len(columns) - 2
    key_columns = [table.c[column] for column in columns]
    stmt = (
        select(table.c.id, *key_columns, table.c.value)
        .where(
            *(
                key_columns[i] == bindparam(f"p{i}", type_=key_columns[i].type)
                for i in range(width - 1)
            ),
            in_list(key_columns[width - 1], "l", size),
        )
        .order_by(*key_columns)
    )
    return stmt.with_for_update() if dialect == "postgresql" else stmt


def _zero_stmt(dialect: str, name: str) -> Executable:
    table, columns = _TABLES[name]
    return insert_ignore_for(dialect, table, columns).values(values_of(table, (*columns, "value")))


async def _current(
    session: AsyncSession, name: str, keys: Sequence[tuple[Any, ...]]
) -> dict[tuple[Any, ...], tuple[int, str]]:
    """The rows of ``keys`` that exist: key -> (id, value). Searched by the unique index's
    prefix without the metric and unit (``chapter IN (...)``; ``campaign_id = ? AND chapter IN
    (...)``): a few rows per chapter, one plain ``IN`` list, a statement built and compiled
    once per shape (``batch_updates.rows_of``), where an ``OR`` of one term per key cost more
    to build than to run. Rows of other metrics of the same chapters are read and left out."""
    width = len(_TABLES[name][1]) - 2  # the key columns before (metric, unit)
    wanted = set(keys)
    found: dict[tuple[Any, ...], tuple[int, str]] = {}
    for prefix, lasts in sorted(_by_prefix(keys, width).items()):
        for chunk in _chunks(sorted(lasts)):
            size = sized(len(chunk))
            params = listed("l", chunk, size) | {f"p{i}": v for i, v in enumerate(prefix)}
            for row in await rows_of(session, _current_stmt, (name, size), params):
                key = tuple(row[1:-1])
                if key in wanted:
                    found[key] = (row[0], row[-1])
    return found


async def _adjust(
    session: AsyncSession, name: str, changes: Mapping[tuple[Any, ...], Decimal]
) -> None:
    """Add each change to its row (keyed by the table's key columns), creating rows at "0"
    first.

    On PostgreSQL every key is inserted (``ON CONFLICT DO NOTHING``) before any is read
    locked, as the module doc says. On SQLite the writer is alone, so the rows are read first
    and only the missing ones inserted (then read): an update of known keys inserts nothing."""
    keys = sorted(changes)
    if not keys:
        return
    table, columns = _TABLES[name]
    current: dict[tuple[Any, ...], tuple[int, str]] = {}
    missing = keys
    if session.get_bind().dialect.name != "postgresql":
        current = await _current(session, name, keys)
        missing = [key for key in keys if key not in current]
    for chunk in _chunks(missing):
        await execute_many(
            session,
            _zero_stmt,
            (name,),
            [
                {**{f"v_{c}": v for c, v in zip(columns, key, strict=True)}, "v_value": "0"}
                for key in chunk
            ],
        )
    if missing:
        current.update(await _current(session, name, missing))
    await update_by_id(
        session,
        table,
        ("value",),
        [
            (str(Decimal(current[key][1]) + changes[key]), current[key][0])
            for key in keys
            if changes[key]  # adding nothing leaves the row as it is
        ],
    )


async def adjust_chapters(session: AsyncSession, changes: Mapping[ChapterKey, Decimal]) -> None:
    """Add ``changes`` to the chapters' running sums (a key with a zero change is still
    created: it is a metric one of the chapter's live reports holds)."""
    await _adjust(session, "chapter_totals", changes)


async def adjust_campaigns(session: AsyncSession, changes: Mapping[CampaignKey, Decimal]) -> None:
    """Add ``changes`` to campaign totals (campaign-wide and per chapter rows alike)."""
    await _adjust(session, "campaign_totals", changes)


async def of_chapter(session: AsyncSession, chapter: str) -> dict[MetricKey, Decimal]:
    """The chapter's running sums, by (metric, unit)."""
    rows = await session.execute(
        select(ChapterTotal.metric, ChapterTotal.unit, ChapterTotal.value).where(
            ChapterTotal.chapter == chapter
        )
    )
    return {(metric, unit): Decimal(value) for metric, unit, value in rows}


async def all_sums(session: AsyncSession) -> dict[ChapterKey, Decimal]:
    """Every chapter's running sums (for checks against a recount)."""
    rows = await session.execute(
        select(ChapterTotal.chapter, ChapterTotal.metric, ChapterTotal.unit, ChapterTotal.value)
    )
    return {(c, m, u): Decimal(v) for c, m, u, v in rows}
