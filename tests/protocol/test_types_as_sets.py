"""``type`` may be a list in ActivityStreams: every parser and rule reads it as a set, so a list
neither crashes a check nor slips past one keyed on a type it contains."""

from __future__ import annotations

from typing import Any

import pytest

from protocol.activities import build_create, build_update, parse_activity
from protocol.actors import parse_actor
from protocol.authority import attribution_is_actor, same_origin_claims
from protocol.errors import AuthorityError, MalformedDocument, UnsupportedType
from protocol.events import parse_event
from protocol.impact import is_report, is_rollup, parse_report
from protocol.vocabulary import first_type, has_type, known_types, primary_type, types_of

ORIGIN = "https://chapter.example"
CHAPTER = f"{ORIGIN}/actors/greenpark"
EVENT: dict[str, Any] = {
    "id": f"{CHAPTER}/actions/1",
    "type": "Event",
    "attributedTo": CHAPTER,
    "name": "Canal clean-up",
    "startTime": "2027-04-12T10:00:00+01:00",
    "endTime": "2027-04-12T13:00:00+01:00",
    "location": {"type": ["Place"], "name": "Lock 7"},
    "tag": [{"type": ["Hashtag"], "name": "#canal"}],
}
REPORT: dict[str, Any] = {
    "id": f"{CHAPTER}/reports/1",
    "type": "Note",
    "attributedTo": CHAPTER,
    "chapterhouse:reportOf": f"{CHAPTER}/actions/1",
    "published": "2027-04-12T17:00:00Z",
    "chapterhouse:metrics": [{"metric": "participants", "unit": "people", "value": 5}],
}


@pytest.mark.parametrize(
    ("doc", "types"),
    [
        ({"type": "Note"}, {"Note"}),
        ({"type": ["Note", "Article"]}, {"Note", "Article"}),
        ({"type": ["Note", 5, None, {"x": 1}, ""]}, {"Note"}),
        ({"type": 5}, set()),
        ({"type": ""}, set()),
        ({}, set()),
        ("Note", set()),
        (None, set()),
    ],
)
def test_types_of_reads_one_value_or_a_list(doc: object, types: set[str]) -> None:
    assert types_of(doc) == types
    for name in ("Note", "Article", "Event"):
        assert has_type(doc, name) is (name in types)


def test_primary_and_first_types_keep_document_order() -> None:
    doc = {"type": ["schema:Thing", "Group", "Person", "Group"]}
    assert first_type(doc) == "schema:Thing"
    assert primary_type(doc, {"Person", "Group"}) == "Group"
    assert known_types(doc, {"Person", "Group"}) == ["Group", "Person"]
    assert has_type({"formerType": ["Note"]}, "Note", key="formerType")


def _activity(obj: dict[str, Any], kind: str = "Create") -> dict[str, Any]:
    build = build_create if kind == "Create" else build_update
    return build(f"{ORIGIN}/activities/1", CHAPTER, obj)


def test_an_activity_whose_type_is_wrapped_in_a_list_parses_to_the_same_activity() -> None:
    plain = _activity(EVENT)
    plain_parsed = parse_activity(plain)
    for wrapped_type in (["Create"], ["Create", "as:Create"], ["schema:Thing", "Create"]):
        parsed = parse_activity({**plain, "type": wrapped_type})
        assert parsed.type == "Create"
        assert (parsed.id, parsed.actor, parsed.object_id, parsed.to, parsed.cc) == (
            plain_parsed.id,
            plain_parsed.actor,
            plain_parsed.object_id,
            plain_parsed.to,
            plain_parsed.cc,
        )


def test_an_activity_naming_two_activity_types_is_ambiguous() -> None:
    with pytest.raises(MalformedDocument, match="more than one activity type"):
        parse_activity({**_activity(EVENT), "type": ["Create", "Delete"]})
    with pytest.raises(UnsupportedType):
        parse_activity({**_activity(EVENT), "type": ["Bogus", "Other"]})
    with pytest.raises(MalformedDocument, match="no type"):
        parse_activity({**_activity(EVENT), "type": [5, ""]})


@pytest.mark.parametrize("kind", [["Note", "Article"], ["Note"], ["Article", "Note"]])
def test_a_list_valued_object_type_passes_the_rules_without_crashing(kind: list[str]) -> None:
    activity = parse_activity(_activity({**REPORT, "type": kind}))
    same_origin_claims(activity)
    attribution_is_actor(activity)
    assert activity.object_types == set(kind)
    assert activity.object_type == kind[0]


@pytest.mark.parametrize("kind", ["Event", ["Event"], ["Event", "Note"], ["Person", "Event"]])
def test_an_event_in_any_spelling_must_name_its_chapter(kind: object) -> None:
    unattributed = {k: v for k, v in EVENT.items() if k != "attributedTo"}
    activity = parse_activity(_activity({**unattributed, "type": kind}))
    with pytest.raises(AuthorityError, match="must name the chapter"):
        attribution_is_actor(activity)


@pytest.mark.parametrize("kind", [["Event"], ["Person", "Note"], ["Group", "Event"]])
def test_an_object_attributed_to_someone_else_is_refused_in_any_spelling(kind: object) -> None:
    activity = parse_activity(
        _activity({**EVENT, "type": kind, "attributedTo": f"{ORIGIN}/actors/other"})
    )
    with pytest.raises(AuthorityError, match="attributed to"):
        attribution_is_actor(activity)


def test_only_a_pure_actor_is_spared_the_content_rules() -> None:
    own = {"id": CHAPTER, "type": ["Group"], "inbox": f"{CHAPTER}/inbox"}
    attribution_is_actor(parse_activity(_activity(own, "Update")))
    other = {**own, "id": f"{ORIGIN}/actors/other", "type": ["Person", "schema:Person"]}
    with pytest.raises(AuthorityError, match="cannot update another actor"):
        attribution_is_actor(parse_activity(_activity(other, "Update")))


def test_parsers_take_list_valued_types() -> None:
    call = parse_event({**EVENT, "type": ["Event", "Note"]})
    assert call.place is not None and call.place.name == "Lock 7"
    assert call.tags == ("canal",)
    online = parse_event(
        {**EVENT, "location": {"type": ["VirtualLocation"], "url": "https://x.example/m"}}
    )
    assert online.online_url == "https://x.example/m"
    with pytest.raises(UnsupportedType):
        parse_event({**EVENT, "type": ["Note"]})
    report = {**REPORT, "type": ["Note", "Article"]}
    assert is_report(report) and not is_rollup(report)
    assert parse_report(report).chapter == CHAPTER
    actor = parse_actor(
        {
            "id": CHAPTER,
            "type": ["schema:Organization", "Group"],
            "inbox": f"{CHAPTER}/inbox",
            "assertionMethod": [
                {
                    "id": f"{CHAPTER}#ed25519-key",
                    "type": ["Multikey"],
                    "controller": CHAPTER,
                    "publicKeyMultibase": "z6Mk",
                }
            ],
        }
    )
    assert actor.type == "Group"
    assert [m.id for m in actor.assertion_methods] == [f"{CHAPTER}#ed25519-key"]
