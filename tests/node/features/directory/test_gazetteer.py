"""The offline gazetteer: coordinates or a place name, the most populous match or the one in
the country (or US state) named; a clear error for anything else; no network at all."""

from __future__ import annotations

import socket

import pytest

from node.features.directory.gazetteer import resolve_near
from node.features.directory.geo import UnknownPlace, haversine_km


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the gazetteer tried to use the network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


async def near(text: str) -> tuple[float, float]:
    return await resolve_near(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lyon", (45.75, 4.85)),
        ("lyon, fr", (45.75, 4.85)),
        ("Lyon, France", (45.75, 4.85)),
        ("Zurich", (47.37, 8.55)),  # accents folded: Zürich
        ("Munich", (48.14, 11.58)),  # an alternate name, when no city has it as its own
        ("Springfield", (37.22, -93.30)),  # the most populous Springfield (Missouri)
        ("Springfield, IL", (39.80, -89.64)),  # the one in the US state named
        ("Paris, US", (33.66, -95.56)),  # Paris, Texas: the country narrows it
        (" -33.86 , 151.21 ", (-33.86, 151.21)),
    ],
)
async def test_places_resolve_offline(text, expected):
    lat, lon = await near(text)
    assert haversine_km((lat, lon), expected) < 5


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("Atlantisville", "unknown place"),
        ("Lyon, Narnia", "unknown place"),
        ("91,10", "out of range"),
        ("10,181", "out of range"),
        ("", "no place name"),
        ("x" * 300, "longer than"),
    ],
)
async def test_unknown_places_are_a_clear_error(text, says):
    with pytest.raises(UnknownPlace, match=says):
        await near(text)


def test_haversine_distances():
    assert haversine_km((48.8566, 2.3522), (51.5074, -0.1278)) == pytest.approx(343.5, abs=1)
    assert haversine_km((0, 179.5), (0, -179.5)) == pytest.approx(111.2, abs=0.5)
