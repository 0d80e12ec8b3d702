"""Calls in several languages: ``nameMap``/``contentMap`` written as Mastodon reads them, read
tolerantly from peers, and the version a reader sees."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from protocol.events import ActionCall, build_event, call_text, parse_event
from protocol.language_maps import best_language, parse_accept_language, read_map

WHEN = datetime(2027, 4, 12, 9, 0, tzinfo=UTC)
CALL = ActionCall(
    id="https://node.example/actors/greenpark/actions/01",
    chapter="https://node.example/actors/greenpark",
    title="Towpath clean-up",
    start=WHEN,
    end=WHEN,
    published=WHEN,
    content="<p>Bring gloves.</p>",
    language="en",
    title_map={"fr": "Nettoyage"},
    content_map={"fr": "<p>Apportez des gants.</p>"},
)


def test_maps_list_the_calls_own_language_first_and_keep_plain_properties():
    doc = build_event(CALL)
    assert list(doc["nameMap"]) == ["en", "fr"]
    assert list(doc["contentMap"]) == ["en", "fr"]
    assert doc["name"] == "Towpath clean-up" and doc["content"] == "<p>Bring gloves.</p>"


def test_round_trip():
    parsed = parse_event(build_event(CALL))
    assert (parsed.language, parsed.title_map, parsed.content_map) == (
        "en",
        {"fr": "Nettoyage"},
        {"fr": "<p>Apportez des gants.</p>"},
    )


def test_a_call_without_a_language_has_no_maps():
    doc = build_event(ActionCall(**{**_fields(CALL), "language": None}))
    assert "nameMap" not in doc and "contentMap" not in doc


def _fields(call: ActionCall) -> dict:
    return {name: getattr(call, name) for name in call.__dataclass_fields__}


def test_a_peers_maps_are_read_tolerantly():
    doc = build_event(CALL)
    doc["nameMap"] = {"en": "Towpath clean-up", "not a tag!": "x", "de": 5, "es": "y" * 301}
    doc["contentMap"] = {"fr": "<p>Apportez des gants.</p>"}
    parsed = parse_event(doc)
    assert parsed.language == "en"  # the key whose text is the name
    assert parsed.title_map == {}
    assert parsed.content_map == {"fr": "<p>Apportez des gants.</p>"}


def test_only_a_name_map():
    doc = build_event(CALL)
    del doc["name"]
    doc["nameMap"] = {"de": "Aufräumen", "fr": "Nettoyage"}
    parsed = parse_event(doc)
    assert parsed.title == "Aufräumen"
    assert parsed.language == "en"  # content is the English entry of contentMap
    assert parsed.title_map == {"de": "Aufräumen", "fr": "Nettoyage"}


def test_the_reader_sees_their_language():
    assert call_text(CALL, ["fr-CA", "en"]).title == "Nettoyage"
    assert call_text(CALL, ["fr"]).content == "<p>Apportez des gants.</p>"
    shown = call_text(CALL, ["de", "it"])
    assert (shown.title, shown.language) == ("Towpath clean-up", "en")


@pytest.mark.parametrize(
    ("header", "tags"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5", ["fr-CH", "fr", "en"]),
        ("en;q=0.1, de", ["de", "en"]),
        ("da, en;q=0, bogus!!", ["da"]),
        (None, []),
    ],
)
def test_accept_language(header, tags):
    assert parse_accept_language(header) == tags


def test_best_language():
    assert best_language(["en", "fr-BE"], ["fr"]) == "fr-BE"
    assert best_language(["en", "fr"], ["pt-BR", "fr-CA"]) == "fr"
    assert best_language(["en"], ["de"]) is None


def test_read_map_caps():
    many = {f"x{i:02d}"[:2] + chr(97 + i % 26): "t" for i in range(100)}
    assert len(read_map(many, limit=10)) <= 20
    assert read_map("fr", limit=10) == {}
