"""Searching the directory: this node's chapters and campaigns and the ones it learned of, by
distance (haversine, nearest first) and by text (the database's own full-text index).

An entry is within reach of a searcher at ``near`` when its place lies within the searcher's
``radius_km``, or when the searcher stands inside the area the entry serves (its own radius):
a chapter serving a whole region 80 km across is found from the edge of it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from node.features.directory.gazetteer import resolve_near
from node.features.directory.geo import haversine_km
from node.features.directory.local import sync_local_entries
from node.federation.admission.blocks import current_blocks
from node.runtime.services import Services
from storage.models import DirectoryEntry
from storage.repositories import directory as directory_repo

if TYPE_CHECKING:
    from protocol.chapter_profile import Place

__all__ = ["DirectoryQuery", "DirectoryResult", "resolve_near", "search_directory"]

MAX_LIMIT: Final = 500
#: Rows read for a search with a place: distance is computed here, not in SQL.
MAX_CANDIDATES: Final = 20_000


@dataclass(frozen=True, slots=True)
class DirectoryQuery:
    text: str | None = None
    near: tuple[float, float] | None = None  # (latitude, longitude)
    radius_km: float | None = None
    topic: str | None = None
    language: str | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class DirectoryResult:
    id: str  # the actor's id
    name: str | None  # preferredUsername
    kind: str  # chapter, campaign
    title: str | None
    summary: str | None
    url: str  # its HTML page
    distance_km: float | None
    place: Place | None
    topics: tuple[str, ...]
    languages: tuple[str, ...]
    followers: int | None
    local: bool


def entry_place(entry: DirectoryEntry) -> Place | None:
    """The entry's place as the chapter profile reads it (None: it gave none)."""
    if entry.latitude is None and not entry.place_name and not entry.address:
        return None
    from protocol.chapter_profile import Place

    return Place(
        name=entry.place_name,
        address=entry.address,
        latitude=entry.latitude,
        longitude=entry.longitude,
    )


def _strings(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def entry_result(entry: DirectoryEntry, distance_km: float | None) -> DirectoryResult:
    return DirectoryResult(
        id=entry.actor_id,
        name=entry.name,
        kind=entry.kind,
        title=entry.title,
        summary=entry.summary,
        url=entry.url or entry.actor_id,
        distance_km=None if distance_km is None else round(distance_km, 3),
        place=entry_place(entry),
        topics=_strings(entry.topics),
        languages=_strings(entry.languages),
        followers=entry.followers,
        local=entry.local,
    )


def within_reach(entry: DirectoryEntry, distance_km: float, radius_km: float | None) -> bool:
    """Inside the searcher's radius, or the searcher inside the entry's area."""
    if radius_km is None:
        return True
    if distance_km <= radius_km:
        return True
    return entry.radius_km is not None and distance_km <= entry.radius_km


def rank(entries: list[DirectoryEntry], query: DirectoryQuery) -> list[DirectoryResult]:
    """Filter by reach and order: nearest first with a place (entries with no coordinates
    cannot be placed and are left out), else in the text index's order."""
    limit = max(1, min(query.limit, MAX_LIMIT))
    if query.near is None:
        return [entry_result(e, None) for e in entries[:limit]]
    placed: list[tuple[float, DirectoryEntry]] = []
    for entry in entries:
        if entry.latitude is None or entry.longitude is None:
            continue
        distance = haversine_km(query.near, (entry.latitude, entry.longitude))
        if within_reach(entry, distance, query.radius_km):
            placed.append((distance, entry))
    placed.sort(key=lambda pair: (pair[0], pair[1].actor_id))
    return [entry_result(e, d) for d, e in placed[:limit]]


async def search_directory(services: Services, query: DirectoryQuery) -> list[DirectoryResult]:
    """The chapters and campaigns matching ``query``, ours and the indexed remote ones."""
    await sync_local_entries(services)
    limit = max(1, min(query.limit, MAX_LIMIT))
    async with services.db.read() as session:
        entries = await directory_repo.search_entries(
            session,
            text=query.text,
            topic=query.topic,
            language=query.language,
            limit=MAX_CANDIDATES if query.near is not None else limit,
        )
    # A block made since an entry was indexed hides it at once (the next refresh drops it).
    blocks = await current_blocks(services, now=time.monotonic())
    entries = [e for e in entries if e.local or blocks.refusal(e.actor_id) is None]
    return rank(entries, query)
