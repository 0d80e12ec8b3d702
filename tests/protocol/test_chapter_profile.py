"""A chapter's place, topics and languages: validated on input, published as Mobilizon reads
them, and read back tolerantly from any peer's actor document."""

from __future__ import annotations

import json

import pytest

from protocol.chapter_profile import (
    ChapterProfile,
    InvalidProfileField,
    Place,
    checked_profile,
    normalise_topic,
    parse_chapter_profile,
    parse_coordinates,
    profile_fields,
    validate_coordinates,
    validate_language,
    validate_radius_km,
)
from protocol.errors import MalformedDocument
from tests.vectors import VECTORS

PAYLOADS = VECTORS / "payloads"
TAGS = "https://node.example/tags"

LYON = ChapterProfile(
    place=Place("Riverside hall", "10 Rue Jangot, 69007 Lyon", 45.75, 4.85),
    radius_km=25.0,
    regions=("Auvergne-Rhône-Alpes",),
    languages=("fr", "en"),
    topics=("climate", "housing"),
)


def test_profile_fields_publish_a_mobilizon_place_hashtags_and_languages() -> None:
    fields = profile_fields(LYON, tag_base=TAGS)
    assert fields["location"] == {
        "type": "Place",
        "name": "Riverside hall",
        "address": {"type": "PostalAddress", "streetAddress": "10 Rue Jangot, 69007 Lyon"},
        "latitude": 45.75,
        "longitude": 4.85,
        "radius": 25.0,
        "units": "km",
    }
    assert fields["tag"] == [
        {"type": "Hashtag", "href": f"{TAGS}/climate", "name": "#climate"},
        {"type": "Hashtag", "href": f"{TAGS}/housing", "name": "#housing"},
    ]
    assert fields["knowsLanguage"] == ["fr", "en"]
    assert fields["areaServed"] == ["Auvergne-Rhône-Alpes"]


def test_empty_profile_adds_no_field() -> None:
    assert profile_fields(ChapterProfile(None, None, (), (), ()), tag_base=TAGS) == {}


def test_published_profile_reads_back_identically() -> None:
    doc = {"type": "Group", **profile_fields(LYON, tag_base=TAGS)}
    assert parse_chapter_profile(json.loads(json.dumps(doc))) == LYON


def test_reads_mobilizon_place_with_postal_address() -> None:
    event = json.loads((PAYLOADS / "mobilizon-fixtures/mobilizon-post-activity.json").read_text())
    location = event["object"]["location"]
    group = json.loads((PAYLOADS / "mobilizon-group-actor.SYNTHESIZED.json").read_text())
    profile = parse_chapter_profile(
        {**group, "location": {**location, "latitude": 45.75, "longitude": 4.84}}
    )
    assert profile.place == Place(
        "Locaux de Framasoft",
        "10 Rue Jangot, 69007, Lyon, Auvergne Rhône Alpes, France",
        45.75,
        4.84,
    )
    assert profile.radius_km is None
    assert profile.topics == () and profile.languages == ()


def test_mobilizon_group_without_location_has_empty_profile() -> None:
    group = json.loads((PAYLOADS / "mobilizon-group-actor.SYNTHESIZED.json").read_text())
    assert parse_chapter_profile(group) == ChapterProfile(None, None, (), (), ())


def test_mention_tags_are_not_topics() -> None:
    event = json.loads((PAYLOADS / "mobilizon-fixtures/mobilizon-post-activity.json").read_text())
    assert parse_chapter_profile(event["object"]).topics == ()


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(91, 0), (0, 181), ("45", "4"), (float("nan"), 0), (True, 0), (None, 4.0)],
)
def test_bad_remote_coordinates_are_dropped_as_a_pair(lat: object, lon: object) -> None:
    doc = {"location": {"type": "Place", "name": "Hall", "latitude": lat, "longitude": lon}}
    profile = parse_chapter_profile(doc)
    if isinstance(lat, str):  # numeric strings are accepted
        assert profile.place == Place("Hall", None, 45.0, 4.0)
    else:
        assert profile.place == Place("Hall", None, None, None)


def test_hostile_remote_values_are_dropped_or_capped() -> None:
    doc: dict[str, object] = {
        "location": [
            "https://elsewhere.example/place",
            {"type": "Place", "name": "x" * 5000, "address": 42, "radius": 5000, "units": "m"},
        ],
        "tag": [{"type": "Hashtag", "name": f"#Topic{i}"} for i in range(500)]
        + [{"type": "Hashtag", "name": "#bad tag"}],
        "knowsLanguage": ["en", "english language", 7, {"identifier": "pt_br"}, "en"],
        "areaServed": "Rhône\x00",
    }
    profile = parse_chapter_profile(doc)
    assert profile.place is None  # the name was absurd, nothing else was usable
    assert profile.radius_km == 5.0  # metres by default in AS2
    assert len(profile.topics) == 20 and profile.topics[0] == "topic0"
    assert profile.languages == ("en", "pt-BR")
    assert profile.regions == ()


def test_a_bare_string_address_and_miles_are_read() -> None:
    doc = {"location": {"address": "1 Main St", "radius": 10, "units": "miles"}}
    profile = parse_chapter_profile(doc)
    assert profile.place == Place(None, "1 Main St", None, None)
    assert profile.radius_km == pytest.approx(16.09344)


def test_unknown_units_drop_the_radius() -> None:
    assert parse_chapter_profile({"location": {"radius": 3, "units": "parsecs"}}).radius_km is None


def test_validate_coordinates_names_the_field() -> None:
    assert validate_coordinates(45, -4.5) == (45.0, -4.5)
    with pytest.raises(InvalidProfileField, match="latitude") as err:
        validate_coordinates(95, 0)
    assert err.value.field == "latitude"
    assert isinstance(err.value, MalformedDocument)
    with pytest.raises(InvalidProfileField, match="longitude"):
        validate_coordinates(0, -180.5)


@pytest.mark.parametrize("text", ["45.7", "a,b", "1,2,3", "nan,1", "100,1"])
def test_parse_coordinates_refuses(text: str) -> None:
    with pytest.raises(InvalidProfileField):
        parse_coordinates(text)


def test_parse_coordinates() -> None:
    assert parse_coordinates(" 45.75 , 4.85") == (45.75, 4.85)


@pytest.mark.parametrize(
    ("tag", "expected"), [("EN", "en"), ("pt-br", "pt-BR"), ("sr-latn-rs", "sr-Latn-RS")]
)
def test_language_tags_are_canonicalised(tag: str, expected: str) -> None:
    assert validate_language(tag) == expected


@pytest.mark.parametrize("tag", ["", "e", "english!", "en--gb", "x" * 40, "fr-toolongsubtag"])
def test_bad_language_tags_are_refused(tag: str) -> None:
    with pytest.raises(InvalidProfileField, match="languages"):
        validate_language(tag)


def test_topics_are_normalised() -> None:
    assert normalise_topic("#Climate_Justice") == "climate_justice"
    assert normalise_topic("  #Écologie ") == "écologie"
    for bad in ("#", "two words", "a-b", "x" * 51, "<script>"):
        with pytest.raises(InvalidProfileField, match="topics"):
            normalise_topic(bad)


def test_radius_bounds() -> None:
    assert validate_radius_km(12) == 12.0
    for bad in (0, -1, 30000, float("inf"), "5"):
        with pytest.raises(InvalidProfileField, match="radius_km"):
            validate_radius_km(bad)


def test_checked_profile_validates_everything() -> None:
    profile = checked_profile(
        place_name=" Riverside  hall ",
        latitude=45.75,
        longitude=4.85,
        topics=["#Climate", "climate"],
        languages=["FR"],
    )
    assert profile.place == Place("Riverside hall", None, 45.75, 4.85)
    assert profile.topics == ("climate",)
    assert profile.languages == ("fr",)
    with pytest.raises(InvalidProfileField, match="coordinates"):
        checked_profile(latitude=45.0)
    with pytest.raises(InvalidProfileField, match="topics"):
        checked_profile(topics=[f"t{i}" for i in range(21)])
    with pytest.raises(InvalidProfileField, match="address"):
        checked_profile(address="a" * 501)
    with pytest.raises(InvalidProfileField, match="regions"):
        checked_profile(regions=[""])
