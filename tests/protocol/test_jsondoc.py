"""protocol.jsondoc: one reading of an untrusted JSON body. Duplicate keys, JSON-LD keywords that
change meaning under expansion, and nesting too deep are refused; everything else loads as is."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import jsondoc
from protocol.activities import build_create
from protocol.errors import MalformedDocument
from protocol.events import ActionCall, build_event
from protocol.jsondoc import key_ends, load_json_object
from protocol.jsonld import CONTEXT
from protocol.proofs import create_proof

LIMIT = 32
CHAPTER = "https://chapter.example/actors/greenpark"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def load(body: bytes | str, max_depth: int = LIMIT) -> dict[str, Any]:
    return load_json_object(body.encode() if isinstance(body, str) else body, max_depth=max_depth)


def refused(body: bytes | str, match: str, max_depth: int = LIMIT) -> str:
    with pytest.raises(MalformedDocument, match=match) as info:
        load(body, max_depth)
    return str(info.value)


def signed_create() -> dict[str, Any]:
    """What a Chapterhouse chapter sends: a Create of its signed Event (context kept, FEP-8b32)."""
    call = ActionCall(
        id=f"{CHAPTER}/actions/1",
        chapter=CHAPTER,
        title="Canal clean-up",
        start=NOW,
        end=NOW,
        published=NOW,
        content='<p>Bring <a href="https://example.org/x">gloves</a></p>',
        followers=f"{CHAPTER}/followers",
    )
    event = create_proof(
        build_event(call),
        Ed25519PrivateKey.generate(),
        verification_method=f"{CHAPTER}#ed25519-key",
        created=NOW,
    )
    return build_create("https://chapter.example/activities/1", CHAPTER, event)


# -- what loads -------------------------------------------------------------------------------


def test_an_ordinary_activity_and_our_own_signed_create_load_unchanged() -> None:
    doc = signed_create()
    assert doc["object"]["@context"] == doc["@context"]  # nested, and an exact copy
    assert doc["object"]["proof"]["@context"] == doc["@context"]
    body = orjson.dumps(doc)
    assert load(body) == doc
    spaced = json.dumps(doc, indent=2, separators=(",", " :  "))
    assert load(spaced) == doc


@pytest.mark.parametrize("body", [b"[]", b"1", b'"x"', b"null", b"{", b"", b"{'a': 1}"])
def test_only_a_json_object_loads(body: bytes) -> None:
    with pytest.raises(MalformedDocument, match="JSON"):
        load(body)


# -- depth (what the inbox's _depth counted: a scalar inside the top-level object is at 2) ------


@pytest.mark.parametrize(
    ("value", "depth"),
    [
        ({}, 1),
        ({"a": 1}, 2),
        ({"a": {}}, 2),
        ({"a": []}, 2),
        ({"a": [[]]}, 3),
        ({"a": [[1]]}, 4),
        ({"a": {"b": {"c": [1, 2, {"d": None}]}}}, 6),
        ({"a": 1, "b": {"c": {"d": 1}}, "e": [1]}, 4),
        ({"@context": [{"a": {"@id": "x"}}], "b": 1}, 5),
        ({"@context": {"a": "b"}, "o": {"@context": {"a": "b"}}}, 4),
    ],
)
def test_depth_counts_every_level_down_to_scalars(value: dict[str, Any], depth: int) -> None:
    body = orjson.dumps(value)
    assert load(body, max_depth=depth) == value
    if depth > 1:
        refused(body, f"nested deeper than {depth - 1} levels", max_depth=depth - 1)


def test_depth_is_refused_far_past_the_limit_and_names_where() -> None:
    body = '{"x": ' + '{"a": ' * 200 + "1" + "}" * 201
    message = refused(body, "nested deeper than 32 levels")
    assert "(in x.a.a" in message


# -- duplicate keys -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '{"type": "Follow", "actor": "https://a.example/u/1", "actor": "https://b.example/u/2"}',
        '{"actor":"https://a.example/u/1" , "actor"  :\t"https://b.example/u/2"}',
        '{"object": {"id": "x", "attributedTo": "a", "attributedTo": "b"}}',
        '{"to": [{"id": "x", "id": "y"}]}',
        '{"act\\u006fr": "a", "actor": "b"}',  # an escape spells the same key
        '{"@context": {"a": "x", "a": "y"}}',
    ],
)
def test_a_duplicate_key_anywhere_is_refused(body: str) -> None:
    assert "duplicate key" in refused(body, "duplicate key")


def test_the_common_case_is_decided_without_a_second_parse(monkeypatch) -> None:
    """Fast path: as many key ends in the text as keys in the document, so no duplicate."""
    calls: list[bytes] = []
    real = jsondoc._refuse_duplicates
    monkeypatch.setattr(
        jsondoc, "_refuse_duplicates", lambda body: calls.append(body) or real(body)
    )
    body = orjson.dumps(signed_create())
    assert load(body) == orjson.loads(body)
    assert calls == []


def test_a_string_holding_quote_colon_costs_an_exact_check_and_still_loads(monkeypatch) -> None:
    """Slow path: ``\\":`` inside a string is counted as a key end, so the exact check runs; it
    finds no duplicate, and the body loads."""
    calls: list[bytes] = []
    real = jsondoc._refuse_duplicates
    monkeypatch.setattr(
        jsondoc, "_refuse_duplicates", lambda body: calls.append(body) or real(body)
    )
    doc = {"type": "Note", "content": 'he said \\": "stop" : now', "name": '" :'}
    body = json.dumps(doc).encode()
    assert key_ends(body) > 3
    assert load(body) == doc
    assert calls == [body]
    with pytest.raises(MalformedDocument, match="duplicate key 'type'"):
        load(body[:-1] + b', "type": "Event"}')


# A tiny serialiser that can write duplicate keys and odd spacing, to check the counting argument
# on arbitrary text: objects are lists of (key, value) pairs.
KEY = st.text(alphabet=st.sampled_from('ab":\\ \t\n{}[],é\x01'), max_size=4).filter(
    lambda k: not k.startswith("@")
)
SPACE = st.sampled_from(["", " ", "\n", "\t ", "\r\n  "])
TREE = st.recursive(
    st.none() | st.integers(-5, 5) | st.text(alphabet=st.sampled_from('ab":\\ \t\n'), max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.lists(st.tuples(KEY, inner), max_size=4),
    max_leaves=12,
)


@st.composite
def written(draw: st.DrawFn, tree: Any) -> str:
    if isinstance(tree, list) and tree and all(isinstance(p, tuple) for p in tree):
        parts = [
            f"{draw(SPACE)}{json.dumps(k, ensure_ascii=draw(st.booleans()))}{draw(SPACE)}:"
            f"{draw(SPACE)}{draw(written(v))}"
            for k, v in tree
        ]
        return "{" + ",".join(parts) + draw(SPACE) + "}"
    if isinstance(tree, list):
        return "[" + ",".join([draw(written(v)) for v in tree]) + "]"
    return json.dumps(tree, ensure_ascii=draw(st.booleans()))


def _has_duplicate(tree: Any) -> bool:
    if isinstance(tree, list) and tree and all(isinstance(p, tuple) for p in tree):
        keys = [k for k, _ in tree]
        return len(set(keys)) != len(keys) or any(_has_duplicate(v) for _, v in tree)
    if isinstance(tree, list):
        return any(_has_duplicate(v) for v in tree)
    return False


def _keys_written(tree: Any) -> int:
    if isinstance(tree, list) and tree and all(isinstance(p, tuple) for p in tree):
        return len(tree) + sum(_keys_written(v) for _, v in tree)
    if isinstance(tree, list):
        return sum(_keys_written(v) for v in tree)
    return 0


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(data=st.data(), pairs=st.lists(st.tuples(KEY, TREE), max_size=5))
def test_key_ends_bound_the_keys_and_duplicates_are_found_exactly(
    data: st.DataObject, pairs: list[tuple[str, Any]]
) -> None:
    tree = pairs  # the top level is always an object
    text = "{}" if not tree else data.draw(written(tree))
    body = text.encode()
    assert key_ends(body) >= _keys_written(tree)
    if _has_duplicate(tree):
        with pytest.raises(MalformedDocument, match="duplicate key"):
            load(body)
    else:
        assert load(body) == json.loads(text)


# -- JSON-LD keywords ---------------------------------------------------------------------------


@pytest.mark.parametrize("keyword", ["@included", "@reverse", "@graph"])
def test_keywords_that_change_meaning_are_refused_at_the_top_and_inside(keyword: str) -> None:
    top = {"@context": CONTEXT, "type": "Create", keyword: [{"id": "x", "type": "Event"}]}
    message = refused(orjson.dumps(top), f"JSON-LD keyword {keyword} is not accepted")
    assert "top level" in message
    inner = {"type": "Create", "object": {"type": "Note", "tag": [{keyword: {"id": "x"}}]}}
    message = refused(orjson.dumps(inner), f"JSON-LD keyword {keyword}")
    assert "object.tag[0]" in message
    escaped = '{"type": "Create", "\\u0040' + keyword[1:] + '": {}}'
    refused(escaped, f"JSON-LD keyword {keyword}")  # spelled with an escape: the same key


def test_a_nested_context_is_refused_unless_it_repeats_the_top_level_one() -> None:
    other = {"type": "Create", "@context": CONTEXT, "object": {"@context": {"type": "@id"}}}
    assert "object" in refused(orjson.dumps(other), "nested @context is not accepted")
    without_top = {"type": "Create", "object": {"@context": CONTEXT, "type": "Note"}}
    refused(orjson.dumps(without_top), "nested @context is not accepted")
    deep = {"@context": CONTEXT, "object": {"@context": CONTEXT, "tag": {"@context": "x"}}}
    refused(orjson.dumps(deep), r"nested @context is not accepted \(in object.tag\)")
    copy = {"@context": CONTEXT, "object": {"@context": CONTEXT, "type": "Note"}}
    assert load(orjson.dumps(copy)) == copy


@pytest.mark.parametrize(
    "nested",
    [CONTEXT[0], [CONTEXT[0]], [CONTEXT[3], CONTEXT[0]], CONTEXT[3], CONTEXT],
)
def test_a_nested_context_may_repeat_entries_of_the_top_level_one(nested: Any, monkeypatch) -> None:
    """Another FEP-8b32 signer's object keeps its own @context (e.g. only the AS URL) inside
    our Create: it brings in nothing the top level does not apply, so it is taken."""
    calls: list[bytes] = []
    monkeypatch.setattr(jsondoc, "_refuse_duplicates", calls.append)
    doc = {"@context": CONTEXT, "object": {"@context": nested, "proof": {"@context": nested}}}
    assert load(orjson.dumps(doc)) == doc
    assert calls == []  # its keys were counted too: no second parse was needed


@pytest.mark.parametrize(
    "nested",
    [
        None,
        [None, CONTEXT[0]],
        [CONTEXT[0], {"attributedTo": "as:audience"}],
        "https://evil.example/context.jsonld",
        {**CONTEXT[3], "name": "as:summary"},
    ],
)
def test_a_nested_context_bringing_in_anything_else_is_refused(nested: Any) -> None:
    doc = {"@context": CONTEXT, "type": "Create", "object": {"@context": nested}}
    assert "may only repeat contexts the top-level @context applies" in refused(
        orjson.dumps(doc), r"nested @context is not accepted \(in object\)"
    )


@pytest.mark.parametrize(
    ("context", "match"),
    [
        ({"g": "@graph"}, "may not define 'g' as the JSON-LD keyword @graph"),
        ([CONTEXT[0], {"inc": "@included"}], "may not define 'inc'"),
        ({"ctx": "@context"}, "may not define 'ctx'"),
        ({"followersOf": {"@reverse": "as:followers"}}, "keyword @reverse"),
        ({"proof": {"@id": "sec:proof", "@container": "@graph"}}, "@graph"),
        ({"tag": {"@id": "as:tag", "@context": {"name": "@id"}}}, "scoped @context"),
    ],
)
def test_the_top_level_context_may_not_bring_those_keywords_in_by_the_back_door(
    context: Any, match: str
) -> None:
    refused(orjson.dumps({"@context": context, "type": "Note"}), match)


def test_keywords_we_ignore_are_only_refused_where_they_change_meaning() -> None:
    doc = {
        "@context": ["https://www.w3.org/ns/activitystreams", {"@vocab": "_:", "x": "@id"}],
        "@id": "https://a.example/1",
        "type": "Note",
        "content": "@graph @included @reverse @context",
        "tag": [{"name": "@graph"}],
    }
    assert load(orjson.dumps(doc)) == doc


def test_a_fetched_page_may_hold_documents_with_contexts_of_their_own():
    """A collection page embeds others' documents as published, each with its @context; an
    inbox body may not (its embedded objects may only repeat its own context)."""
    page = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "OrderedCollectionPage",
        "orderedItems": [
            {
                "@context": [
                    "https://www.w3.org/ns/activitystreams",
                    {"ex": "https://ex.example/"},
                ],
                "type": "Create",
            }
        ],
    }
    body = orjson.dumps(page)
    with pytest.raises(MalformedDocument, match="nested @context"):
        load_json_object(body, max_depth=32)
    assert load_json_object(body, max_depth=32, nested_contexts=True) == page
    page["orderedItems"][0]["@graph"] = []  # still refused, however lenient about contexts
    with pytest.raises(MalformedDocument, match="@graph"):
        load_json_object(orjson.dumps(page), max_depth=32, nested_contexts=True)
