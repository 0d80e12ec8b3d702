"""A directory search as people and scripts write it (CLI options, API query parameters),
read into a :class:`DirectoryQuery`; and a result as JSON (the CLI's ``--json``, the API).

One reading for both ways in, so ``--near Lyon --radius 30`` and ``?near=Lyon&radius=30``
mean the same, and a bad value is the same precise message (``QueryError.field`` names it).
"""

from __future__ import annotations

import math
from typing import Final

from node.features.directory.gazetteer import resolve_near
from node.features.directory.geo import UnknownPlace
from node.features.directory.search import MAX_LIMIT, DirectoryQuery, DirectoryResult
from protocol.chapter_profile import (
    MAX_RADIUS_KM,
    InvalidProfileField,
    normalise_topic,
    validate_language,
)
from protocol.errors import N_, ChapterhouseError, FieldWordedError

MAX_TEXT: Final = 200


class QueryError(FieldWordedError):
    """A search parameter that cannot be used; ``field`` names it, ``message`` says why in
    English, and its wording and params let the CLI say it in its reader's language."""

    def __init__(self, field: str, message: str, /, **params: object) -> None:
        super().__init__(field, message, **params)
        self.message = message.format(**params) if params else message

    @classmethod
    def about(cls, field: str, error: ChapterhouseError) -> QueryError:
        """``error`` (the gazetteer's, a profile check's) as a problem with ``field``."""
        return cls(field, error.wording or str(error), **error.params)


def _radius(raw: str | float | None) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        radius = float(raw)
    except ValueError:
        raise QueryError(
            "radius", N_("{value!r} is not a number of kilometres"), value=str(raw)[:40]
        ) from None
    if not math.isfinite(radius) or not 0 < radius <= MAX_RADIUS_KM:
        raise QueryError(
            "radius", N_("must be more than 0 and at most {limit} km"), limit=MAX_RADIUS_KM
        )
    return radius


async def read_query(
    *,
    text: str | None = None,
    near: str | None = None,
    radius: str | float | None = None,
    topic: str | None = None,
    language: str | None = None,
    limit: str | int | None = None,
) -> DirectoryQuery:
    """The query these parameters ask for; raises QueryError naming the bad one."""
    words = (text or "").strip()
    if len(words) > MAX_TEXT:
        raise QueryError("q", N_("search words are at most {limit} characters"), limit=MAX_TEXT)
    point = None
    if near is not None and near.strip():
        try:
            point = await resolve_near(near)
        except UnknownPlace as exc:
            raise QueryError.about("near", exc) from None
    radius_km = _radius(radius)
    if radius_km is not None and point is None:
        raise QueryError("radius", N_("a radius needs a place to measure from (near)"))
    checked: dict[str, str | None] = {"topic": None, "language": None}
    for field, raw, check in (
        ("topic", topic, normalise_topic),
        ("language", language, validate_language),
    ):
        if raw is not None and raw.strip():
            try:
                checked[field] = check(raw)
            except InvalidProfileField as exc:
                raise QueryError.about(field, exc) from None
    count = 50
    if limit is not None and str(limit).strip():
        if not str(limit).strip().isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
            raise QueryError(
                "limit", N_("must be a whole number from 1 to {limit}"), limit=MAX_LIMIT
            )
        count = int(limit)
    return DirectoryQuery(
        text=words or None,
        near=point,
        radius_km=radius_km,
        topic=checked["topic"],
        language=checked["language"],
        limit=count,
    )


def result_json(result: DirectoryResult) -> dict[str, object]:
    """One result as the CLI's ``--json`` and the API give it (the contract's keys first)."""
    place = result.place
    return {
        "id": result.id,
        "name": result.name,
        "kind": result.kind,
        "distanceKm": result.distance_km,
        "place": None
        if place is None
        else {
            "name": place.name,
            "address": place.address,
            "latitude": place.latitude,
            "longitude": place.longitude,
        },
        "topics": list(result.topics),
        "languages": list(result.languages),
        "title": result.title,
        "summary": result.summary,
        "url": result.url,
        "followers": result.followers,
        "local": result.local,
    }
