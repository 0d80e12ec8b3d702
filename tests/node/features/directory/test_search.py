"""Search ranking and reach: nearest first, within the searcher's radius or inside an entry's
own area; entries without coordinates cannot be placed; text order kept without a place."""

from __future__ import annotations

from datetime import UTC, datetime

from node.features.directory.search import DirectoryQuery, rank
from storage.models import DirectoryEntry

LYON = (45.7640, 4.8357)


def entry(name: str, lat: float | None, lon: float | None, radius: float | None = None):
    return DirectoryEntry(
        actor_id=f"https://a.example/actors/{name}",
        kind="chapter",
        name=name,
        latitude=lat,
        longitude=lon,
        radius_km=radius,
        topics=["rivers"],
        languages=None,
        origin="https://a.example",
        local=False,
        updated_at=datetime(2026, 12, 7, tzinfo=UTC),
    )


ENTRIES = [
    entry("grenoble", 45.1885, 5.7245),  # ~95 km
    entry("villeurbanne", 45.7719, 4.8902),  # ~4 km
    entry("region", 45.50, 4.40, radius=60),  # ~45 km away, serving 60 km around it
    entry("online", None, None),
    entry("marseille", 43.2965, 5.3698),  # ~280 km
]


def names(query: DirectoryQuery) -> list[str]:
    return [r.name or "" for r in rank(list(ENTRIES), query)]


def test_nearest_first_within_the_radius():
    assert names(DirectoryQuery(near=LYON, radius_km=20)) == ["villeurbanne", "region"]
    assert names(DirectoryQuery(near=LYON, radius_km=100)) == [
        "villeurbanne",
        "region",
        "grenoble",
    ]
    found = rank(list(ENTRIES), DirectoryQuery(near=LYON))
    assert [r.name for r in found] == ["villeurbanne", "region", "grenoble", "marseille"]
    distances = [r.distance_km for r in found]
    assert distances == sorted(distances) and 3 < (distances[0] or 0) < 6


def test_an_area_counts_when_the_searcher_is_inside_it():
    # "region" is 45 km away: outside a 10 km search, but its own 60 km area covers Lyon.
    assert names(DirectoryQuery(near=LYON, radius_km=10)) == ["villeurbanne", "region"]
    # From Marseille, no area covers the searcher and nothing is within 10 km but Marseille.
    assert names(DirectoryQuery(near=(43.30, 5.37), radius_km=10)) == ["marseille"]


def test_without_a_place_the_order_is_kept_and_the_limit_applies():
    assert names(DirectoryQuery(limit=2)) == ["grenoble", "villeurbanne"]
    assert rank(list(ENTRIES), DirectoryQuery())[3].distance_km is None
