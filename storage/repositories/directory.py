"""The directory index: known nodes (claimed under a lease when due) and entries (upserted per
origin, searched through the database's full-text index).

The text index differs by dialect (migration 0016): SQLite has an FTS5 table
``directory_fts`` over ``search_text``, kept in sync by triggers; PostgreSQL a GIN index over
``to_tsvector('simple', search_text)``. Search words are reduced to letters and digits before
they reach either query language, so a searcher's text is never syntax.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, cast

from sqlalchemy import Table, delete, func, literal_column, or_, select, update
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignore
from storage.models import DirectoryEntry, DirectoryNode

#: Words of a text search that count (more are ignored: a search is a few words).
MAX_WORDS: Final = 8
_WORD = re.compile(r"\w+", re.UNICODE)
_NODES = cast(Table, DirectoryNode.__table__)
_ENTRIES = cast(Table, DirectoryEntry.__table__)
ENTRY_FIELDS: Final = (
    "kind",
    "name",
    "title",
    "summary",
    "url",
    "place_name",
    "address",
    "latitude",
    "longitude",
    "radius_km",
    "topics",
    "languages",
    "followers",
    "origin",
    "local",
)


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def keys_of(values: Iterable[str]) -> str:
    """``|a|b|``: folded values between bars, for the LIKE filters."""
    folded = [v.strip().casefold().replace("|", "") for v in values]
    return "|" + "".join(f"{v}|" for v in folded if v)


def fold(value: str) -> str:
    """Case and accents folded, the same way for the indexed text and the searched words, so
    "Rhône" finds "rhone" on both databases (PostgreSQL has no ``unaccent`` by default)."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def search_text_of(values: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for field in ("name", "title", "summary", "place_name", "address"):
        value = values.get(field)
        if isinstance(value, str):
            parts.append(value)
    for field in ("topics", "languages"):
        value = values.get(field)
        if isinstance(value, list):
            parts.extend(str(v) for v in value)
    return fold(" ".join(parts))


def search_words(query: str) -> list[str]:
    return _WORD.findall(fold(query))[:MAX_WORDS]


# -- entries -------------------------------------------------------------------------------
def _row(actor_id: str, values: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    row = {field: values.get(field) for field in ENTRY_FIELDS}
    row["local"] = bool(row["local"])
    row["actor_id"] = actor_id
    row["search_text"] = search_text_of(values)
    row["topic_keys"] = keys_of(values.get("topics") or ())
    row["language_keys"] = keys_of(values.get("languages") or ())
    row["updated_at"] = now
    return row


async def entries_of_origin(session: AsyncSession, origin: str) -> dict[str, DirectoryEntry]:
    rows = await session.scalars(select(DirectoryEntry).where(DirectoryEntry.origin == origin))
    return {row.actor_id: row for row in rows}


async def local_entries(session: AsyncSession) -> dict[str, DirectoryEntry]:
    rows = await session.scalars(select(DirectoryEntry).where(DirectoryEntry.local.is_(True)))
    return {row.actor_id: row for row in rows}


def differs(entry: DirectoryEntry, values: Mapping[str, Any]) -> bool:
    return any(getattr(entry, f) != values.get(f) for f in ENTRY_FIELDS if f != "local")


async def put_entries(
    session: AsyncSession, entries: Mapping[str, Mapping[str, Any]], *, now: datetime
) -> None:
    """Insert or replace entries by actor id (row by row: the FTS5 triggers see each change).

    An entry already held as local is never replaced by a remote directory's copy."""
    if not entries:
        return
    held = {
        row.actor_id: row
        for row in await session.scalars(
            select(DirectoryEntry).where(DirectoryEntry.actor_id.in_(list(entries)))
        )
    }
    for actor_id, values in entries.items():
        row = _row(actor_id, values, now)
        current = held.get(actor_id)
        if current is None:
            await session.execute(_ENTRIES.insert().values(**row))
        elif current.local and not row["local"]:
            continue
        else:
            await session.execute(
                update(DirectoryEntry).where(DirectoryEntry.id == current.id).values(**row)
            )


async def remove_entries(session: AsyncSession, actor_ids: Sequence[str]) -> int:
    if not actor_ids:
        return 0
    result = await session.execute(
        delete(DirectoryEntry).where(DirectoryEntry.actor_id.in_(list(actor_ids)))
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def entry_origins(session: AsyncSession) -> list[str]:
    """The origins of the remote entries held."""
    stmt = select(DirectoryEntry.origin).where(DirectoryEntry.local.is_(False)).distinct()
    return list(await session.scalars(stmt))


async def remove_origins(session: AsyncSession, origins: Sequence[str]) -> int:
    """Drop every remote entry from ``origins`` (a domain block)."""
    if not origins:
        return 0
    result = await session.execute(
        delete(DirectoryEntry).where(
            DirectoryEntry.origin.in_(list(origins)), DirectoryEntry.local.is_(False)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def search_entries(
    session: AsyncSession,
    *,
    text: str | None,
    topic: str | None,
    language: str | None,
    limit: int,
) -> list[DirectoryEntry]:
    """Entries matching every word of ``text`` (as prefixes), the topic and the language;
    best text matches first, else by title."""
    stmt = select(DirectoryEntry)
    words = search_words(text or "")
    if words:
        if _postgres(session):
            vector = func.to_tsvector(text_config(), DirectoryEntry.search_text)
            query = func.to_tsquery(text_config(), " & ".join(f"{w}:*" for w in words))
            stmt = stmt.where(vector.op("@@")(query)).order_by(func.ts_rank(vector, query).desc())
        else:
            match = " ".join(f'"{w}"*' for w in words)
            fts = (
                select(
                    literal_column("rowid").label("entry_id"),
                    literal_column("rank").label("score"),
                )
                .select_from(sql("directory_fts"))
                .where(sql("directory_fts MATCH :match").bindparams(match=match))
                .subquery()
            )
            stmt = stmt.join(fts, fts.c.entry_id == DirectoryEntry.id).order_by(fts.c.score)
    elif text is not None and text.strip():
        return []  # only punctuation: nothing can match
    if topic:
        stmt = stmt.where(DirectoryEntry.topic_keys.contains(keys_of([topic.lstrip("#")])))
    if language:
        tag = language.strip().casefold().replace("|", "")
        stmt = stmt.where(
            or_(
                DirectoryEntry.language_keys.contains(f"|{tag}|"),
                DirectoryEntry.language_keys.contains(f"|{tag}-"),
            )
        )
    stmt = stmt.order_by(DirectoryEntry.title, DirectoryEntry.actor_id).limit(limit)
    return list(await session.scalars(stmt))


def text_config() -> Any:
    """PostgreSQL's ``simple`` configuration: no stemming, for a directory in many languages."""
    return sql("'simple'::regconfig")


async def count_entries(session: AsyncSession, origin: str | None = None) -> int:
    stmt = select(func.count()).select_from(DirectoryEntry)
    if origin is not None:
        stmt = stmt.where(DirectoryEntry.origin == origin)
    return int(await session.scalar(stmt) or 0)


# -- nodes ---------------------------------------------------------------------------------
async def add_nodes(
    session: AsyncSession, origins: Mapping[str, str], *, now: datetime, cap: int
) -> int:
    """Remember new origins (``origin -> how learned``), due now, while under ``cap`` nodes.
    Known origins keep their row and schedule. Returns how many were new."""
    room = cap - await count_nodes(session)
    known = set(
        await session.scalars(
            select(DirectoryNode.origin).where(DirectoryNode.origin.in_(list(origins)))
        )
    )
    added = 0
    for origin, learned in origins.items():
        if origin in known:
            continue
        if added >= room:
            break
        values = {
            "origin": origin,
            "learned": learned,
            "state": "new",
            "next_fetch_at": now,
            "failures": 0,
            "created_at": now,
        }
        result = await session.execute(insert_ignore(session, _NODES, ["origin"]).values(values))
        added += int(getattr(result, "rowcount", 0) or 0)
    return added


async def count_nodes(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(DirectoryNode)) or 0)


async def node_by_origin(session: AsyncSession, origin: str) -> DirectoryNode | None:
    return await session.scalar(select(DirectoryNode).where(DirectoryNode.origin == origin))


async def all_nodes(session: AsyncSession) -> list[DirectoryNode]:
    return list(await session.scalars(select(DirectoryNode).order_by(DirectoryNode.origin)))


async def claim_due_nodes(
    session: AsyncSession, *, now: datetime, lease: timedelta, limit: int
) -> list[DirectoryNode]:
    """Lease up to ``limit`` nodes due for a fetch (PostgreSQL: rows other workers hold are
    skipped; SQLite: the write lock serialises claims)."""
    stmt = (
        select(DirectoryNode.id)
        .where(
            DirectoryNode.next_fetch_at <= now,
            or_(DirectoryNode.locked_until.is_(None), DirectoryNode.locked_until <= now),
        )
        .order_by(DirectoryNode.next_fetch_at, DirectoryNode.id)
        .limit(limit)
    )
    if _postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(await session.scalars(stmt))
    if not ids:
        return []
    await session.execute(
        update(DirectoryNode).where(DirectoryNode.id.in_(ids)).values(locked_until=now + lease)
    )
    rows = await session.scalars(
        select(DirectoryNode).where(DirectoryNode.id.in_(ids)).order_by(DirectoryNode.id)
    )
    return list(rows)


async def count_leased(session: AsyncSession, *, now: datetime) -> int:
    """Nodes being read right now (by this process or another)."""
    stmt = select(func.count()).where(DirectoryNode.locked_until > now)
    return int(await session.scalar(stmt) or 0)


async def settle_node(session: AsyncSession, node_id: int, **values: Any) -> None:
    """Record a fetch's outcome and release the lease."""
    await session.execute(
        update(DirectoryNode).where(DirectoryNode.id == node_id).values(locked_until=None, **values)
    )


async def make_due(session: AsyncSession, *, now: datetime, interval: timedelta) -> int:
    """Every node not fetched within ``interval`` becomes due ``now`` (``directory refresh``):
    the interval between two fetches of one node still holds."""
    result = await session.execute(
        update(DirectoryNode)
        .where(
            or_(DirectoryNode.fetched_at.is_(None), DirectoryNode.fetched_at <= now - interval),
            DirectoryNode.next_fetch_at > now,
        )
        .values(next_fetch_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
