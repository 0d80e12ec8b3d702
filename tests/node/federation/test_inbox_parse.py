"""The inbox's JSON gate: objects only, nested at most MAX_JSON_DEPTH levels (scalars count)."""

from __future__ import annotations

import orjson
import pytest

from node.federation.inbox.acceptance import MAX_JSON_DEPTH, parse_json_body
from node.runtime.errors import HttpError


def nested(levels: int) -> object:
    """An object ``levels`` (≥ 2) deep counting its innermost scalar: {"a": [{"a": ... 1}]}."""
    value: object = 1
    for i in range(levels - 2):
        value = {"a": value} if i % 2 else [value]
    return {"a": value}


# How depth is counted (scalars included) is tested with the walk itself, in
# tests/protocol/test_jsondoc.py.


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH])
def test_bodies_up_to_the_limit_parse(levels: int) -> None:
    assert isinstance(parse_json_body(orjson.dumps(nested(levels))), dict)


def test_a_body_nested_too_deep_is_refused_however_it_is_spaced() -> None:
    body = orjson.dumps(nested(MAX_JSON_DEPTH + 1))
    for variant in (body, body.replace(b":", b": ").replace(b",", b", ")):
        with pytest.raises(HttpError) as refused:
            parse_json_body(variant)
        assert refused.value.status == 400
        assert "nested deeper than" in refused.value.detail


def test_brackets_inside_strings_only_cost_a_walk() -> None:
    doc = {"type": "Note", "content": "{[" * 40}
    assert parse_json_body(orjson.dumps(doc)) == doc


@pytest.mark.parametrize("body", [b"[]", b"1", b'"x"', b"null"])
def test_only_objects_are_activities(body: bytes) -> None:
    with pytest.raises(HttpError, match="JSON object"):
        parse_json_body(body)
