"""Chapter pages reuse parsed calls only while the stored document is unchanged."""

from __future__ import annotations

import orjson

from node.interfaces.web.call_cache import ParsedCalls

CALL = "https://c.example/actors/river/actions/1"


def _stored(name: str, call_id: str = CALL) -> str:
    return orjson.dumps(
        {
            "type": "Event",
            "id": call_id,
            "attributedTo": "https://c.example/actors/river",
            "name": name,
            "startTime": "2027-04-12T10:00:00+01:00",
            "endTime": "2027-04-12T12:00:00+01:00",
        }
    ).decode()


def test_the_same_document_is_parsed_once():
    cache = ParsedCalls()
    call, line = cache.get(CALL, _stored("Clean-up"), allow_http=False)
    again, again_line = cache.get(CALL, _stored("Clean-up"), allow_http=False)
    assert again is call
    assert again_line == line
    assert call.title == "Clean-up"
    assert "Mon 12 Apr 2027 10:00–12:00" in line


def test_an_edited_document_is_parsed_again():
    cache = ParsedCalls()
    cache.get(CALL, _stored("Clean-up"), allow_http=False)
    call, _ = cache.get(CALL, _stored("Beach clean-up"), allow_http=False)
    assert call.title == "Beach clean-up"
    assert len(cache) == 1


def test_the_cache_is_bounded_and_keeps_recent_calls():
    cache = ParsedCalls(size=2)
    ids = [f"{CALL}{i}" for i in range(3)]
    first, _ = cache.get(ids[0], _stored("a", ids[0]), allow_http=False)
    cache.get(ids[1], _stored("b", ids[1]), allow_http=False)
    cache.get(ids[0], _stored("a", ids[0]), allow_http=False)  # used again: now the newest
    cache.get(ids[2], _stored("c", ids[2]), allow_http=False)  # evicts ids[1]
    assert len(cache) == 2
    assert cache.get(ids[0], _stored("a", ids[0]), allow_http=False)[0] is first
