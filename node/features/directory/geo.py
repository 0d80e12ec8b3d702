"""Distances on the Earth, and the reading of "LAT,LON" (pure arithmetic, no I/O)."""

from __future__ import annotations

import math
import re
from typing import Final

from protocol.errors import N_, WordedError

EARTH_RADIUS_KM: Final = 6371.0088  # the mean radius (IUGG)
_COORDINATES: Final = re.compile(r"^\s*([+-]?\d{1,3}(?:\.\d+)?)\s*,\s*([+-]?\d{1,3}(?:\.\d+)?)\s*$")


class UnknownPlace(WordedError):
    """A place name the gazetteer does not know, or coordinates out of range (worded with its
    data, ``protocol.errors.WordedError``, so the CLI says it in its reader's language)."""


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The great-circle distance between two (latitude, longitude) points, in km."""
    lat1, lon1 = map(math.radians, a)
    lat2, lon2 = map(math.radians, b)
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def valid_point(lat: float, lon: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


def parse_coordinates(text: str) -> tuple[float, float] | None:
    """``"45.75,4.85"`` as (latitude, longitude); ``None`` when the text is not of that form.
    Raises UnknownPlace for numbers out of range (a latitude of 95 is a mistake, not a name)."""
    match = _COORDINATES.match(text)
    if match is None:
        return None
    lat, lon = float(match.group(1)), float(match.group(2))
    if not valid_point(lat, lon):
        raise UnknownPlace(
            N_("coordinates out of range: {text!r} (latitude -90..90, longitude -180..180)"),
            text=text.strip(),
        )
    return lat, lon
