"""Running sums: a chapter's impact by metric and unit, and a campaign's totals, adjusted by
deltas for many keys at once (a batch of reports costs a few statements, not a few per report).

Values are decimal text, so the arithmetic happens here in Python, exactly: the rows a batch
touches are created if missing (``INSERT ... ON CONFLICT DO NOTHING``), read locked (PostgreSQL;
SQLite's writer is already exclusive) in one fixed order, and written back by primary key in one
``executemany``. Concurrent writers therefore queue on the rows they share and never deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Table, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignore
from storage.models import CampaignTotal, ChapterTotal
from storage.repositories.batch_updates import update_by_id

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


def keys_match(columns: Sequence[ColumnElement[Any]], keys: Iterable[Sequence[Any]]) -> Any:
    """``(a = ? AND b = ?) OR (a = ? AND b = ?) ...``: unlike a row-value ``(a, b) IN (...)``,
    which SQLite answers by scanning the table, each term is one index search on both SQLite
    (multi-index OR) and PostgreSQL (bitmap OR), whatever the table's size.

    Written as SQL text with named parameters: built from operator expressions, a few hundred
    keys cost milliseconds of expression building and a compile per statement; this text is
    the same for every chunk of one size, so its compiled form is reused."""
    names = [f'{column.table.name}."{column.name}"' for column in columns]
    terms: list[str] = []
    params: dict[str, Any] = {}
    for i, key in enumerate(keys):
        parts = []
        for j, (name, value) in enumerate(zip(names, key, strict=True)):
            params[f"k{i}_{j}"] = value
            parts.append(f"{name} = :k{i}_{j}")
        terms.append("(" + " AND ".join(parts) + ")")
    return text(" OR ".join(terms) or "1 = 0").bindparams(**params)


def _by_prefix(keys: Sequence[tuple[Any, ...]], width: int) -> dict[tuple[Any, ...], set[Any]]:
    """Group keys by their columns before the last of the ``width`` searched ones: each group
    is one ``col = ? AND ... AND last IN (...)`` search of the unique index's prefix."""
    groups: dict[tuple[Any, ...], set[Any]] = {}
    for key in keys:
        groups.setdefault(tuple(key[: width - 1]), set()).add(key[width - 1])
    return groups


async def _current(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    keys: Sequence[tuple[Any, ...]],
    locking: bool,
) -> dict[tuple[Any, ...], tuple[int, str]]:
    """The rows of ``keys`` that exist: key -> (id, value). Searched by the unique index's
    prefix without the metric and unit (``chapter IN (...)``; ``campaign_id = ? AND chapter IN
    (...)``): a few rows per chapter, one plain ``IN`` list, a statement compiled once per
    shape, where an ``OR`` of one term per key cost more to build than to run. Rows of other
    metrics of the same chapters are read and left out here."""
    width = len(columns) - 2  # the key columns before (metric, unit)
    wanted = set(keys)
    found: dict[tuple[Any, ...], tuple[int, str]] = {}
    key_columns = [table.c[name] for name in columns]
    for prefix, lasts in sorted(_by_prefix(keys, width).items()):
        for chunk in _chunks(sorted(lasts)):
            stmt = (
                select(table.c.id, *key_columns, table.c.value)
                .where(
                    *(c == v for c, v in zip(key_columns, prefix, strict=False)),
                    key_columns[width - 1].in_(chunk),
                )
                .order_by(*key_columns)
            )
            if locking:
                stmt = stmt.with_for_update()
            for row in await session.execute(stmt):
                key = tuple(row[1:-1])
                if key in wanted:
                    found[key] = (row[0], row[-1])
    return found


async def _adjust(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    changes: Mapping[tuple[Any, ...], Decimal],
) -> None:
    """Add each change to its row (keyed by ``columns``), creating rows at "0" first.

    On PostgreSQL every key is inserted (``ON CONFLICT DO NOTHING``) before any is read
    locked, as the module doc says. On SQLite the writer is alone, so the rows are read first
    and only the missing ones inserted (then read): an update of known keys inserts nothing."""
    keys = sorted(changes)
    if not keys:
        return
    locking = session.get_bind().dialect.name == "postgresql"
    current: dict[tuple[Any, ...], tuple[int, str]] = {}
    missing = keys
    if not locking:
        current = await _current(session, table, columns, keys, locking)
        missing = [key for key in keys if key not in current]
    for chunk in _chunks(missing):
        await session.execute(
            insert_ignore(session, table, columns),
            [{**dict(zip(columns, key, strict=True)), "value": "0"} for key in chunk],
        )
    if missing:
        current.update(await _current(session, table, columns, missing, locking))
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
    await _adjust(session, ChapterTotal.__table__, ("chapter", "metric", "unit"), changes)  # type: ignore[arg-type]


async def adjust_campaigns(session: AsyncSession, changes: Mapping[CampaignKey, Decimal]) -> None:
    """Add ``changes`` to campaign totals (campaign-wide and per chapter rows alike)."""
    await _adjust(
        session,
        CampaignTotal.__table__,  # type: ignore[arg-type]
        ("campaign_id", "chapter", "metric", "unit"),
        changes,
    )


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
