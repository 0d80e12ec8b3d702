"""Property-based fuzzing (hypothesis) of everything that reads untrusted input.

The parsers may only fail with their documented errors (``ProtocolError`` subclasses for
documents, ``SignatureError`` for signatures, ``ProofError`` for proofs); the real HTTP inbox
may answer anything but a 5xx, and must still serve an honest request afterwards.

Examples are derandomised (the same every run, so a failure is reproducible and the suite is
stable) and bounded, so the whole file takes a few seconds. For a longer, random exploration:
``FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/security/test_fuzz.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import json
import os
import re
import threading
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from node.federation.inbox.acceptance import MAX_JSON_DEPTH
from protocol.activities import ACTIVITY_TYPES, build_create, build_follow, parse_activity
from protocol.actors import parse_actor
from protocol.authority import attribution_is_actor, same_origin_claims
from protocol.errors import MalformedDocument, ProofError, ProtocolError, SignatureError
from protocol.events import parse_event
from protocol.httpsig import (
    HttpRequest,
    sign_request_cavage,
    sign_request_rfc9421,
    signature_key_id,
    verify_request,
)
from protocol.impact import parse_report
from protocol.jsondoc import load_json_object
from protocol.jsonld import CONTEXT, PUBLIC
from protocol.keys import generate_rsa_key
from protocol.proofs import create_proof, proof_verification_method, verify_proof
from storage.models import InboxItem
from tests.rig.hostile import HostileServer, send
from tests.rig.nodes import Node, start_node
from tests.security.helpers import Honest, Target, assert_serves_honest

T = TypeVar("T")

EXPLORE = int(os.environ.get("FUZZ_EXAMPLES", "0"))
FAST = settings(
    max_examples=EXPLORE or 100,
    deadline=None,
    database=None,
    derandomize=not EXPLORE,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SLOW = settings(FAST, max_examples=EXPLORE // 10 or 60)

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ORIGIN = "https://chapter.example"
ACTOR = f"{ORIGIN}/actors/greenpark"

# -- JSON-shaped data ------------------------------------------------------------------------

URLS = st.sampled_from(
    [
        ACTOR,
        f"{ACTOR}#main-key",
        f"{ACTOR}/actions/1",
        f"{ACTOR}/inbox",
        "https://other.example/actors/x",
        "http://127.0.0.1:1/a",
        "https://[::1]/x",
        "https://xn--nxasmq6b.example/a",
        "https://ünï.example/a",
        "https://a.example:99999/x",
        "https://user:pw@a.example/x",
        "https://a.example/\x00",
        "https:///nohost",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "//a.example/x",
        "",
        " ",
        "https://" + "a" * 3000 + ".example/",
    ]
)
TYPES = st.sampled_from(
    [
        *sorted(ACTIVITY_TYPES),
        "Event",
        "Note",
        "Person",
        "Group",
        "Application",
        "Tombstone",
        "Place",
        "",
        "event",
    ]
)
KEYS = st.sampled_from(
    [
        "@context",
        "id",
        "type",
        "actor",
        "object",
        "target",
        "to",
        "cc",
        "attributedTo",
        "inbox",
        "outbox",
        "followers",
        "following",
        "endpoints",
        "sharedInbox",
        "publicKey",
        "publicKeyPem",
        "owner",
        "assertionMethod",
        "name",
        "content",
        "summary",
        "url",
        "startTime",
        "endTime",
        "published",
        "updated",
        "location",
        "timezone",
        "maximumAttendeeCapacity",
        "participantCount",
        "ical:status",
        "tag",
        "chapterhouse:targets",
        "chapterhouse:metrics",
        "chapterhouse:reportOf",
        "chapterhouse:period",
        "proof",
        "value",
        "metric",
        "unit",
        "method",
    ]
)
TIMES = st.sampled_from(
    [
        "2027-04-12T10:00:00+01:00",
        "2027-04-12T10:00:00Z",
        "2027-04-12T10:00:00",
        "2027-02-30T10:00:00Z",
        "9999-12-31T23:59:59+14:00",
        "0001-01-01T00:00:00-14:00",
        "2027-04-12",
        "yesterday",
        "",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | URLS
    | TYPES
    | TIMES
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=30,
)


def _valid_documents() -> dict[str, dict[str, Any]]:
    event = {
        "@context": CONTEXT,
        "id": f"{ACTOR}/actions/1",
        "type": "Event",
        "attributedTo": ACTOR,
        "name": "Canal clean-up",
        "content": "<p>Bring gloves</p>",
        "startTime": "2027-04-12T10:00:00+01:00",
        "endTime": "2027-04-12T13:00:00+01:00",
        "location": {"type": "Place", "name": "Lock 7", "address": {"streetAddress": "Canal"}},
        "maximumAttendeeCapacity": 20,
        "participantCount": 3,
        "chapterhouse:targets": [{"metric": "kg_litter", "unit": "kg", "target": 100}],
        "to": [PUBLIC],
    }
    report = {
        "id": f"{ACTOR}/reports/1",
        "type": "Note",
        "attributedTo": ACTOR,
        "chapterhouse:reportOf": f"{ACTOR}/actions/1",
        "published": "2027-04-12T17:00:00Z",
        "chapterhouse:period": {
            "startTime": "2027-04-12T10:00:00Z",
            "endTime": "2027-04-12T13:00:00Z",
        },
        "chapterhouse:metrics": [{"metric": "participants", "unit": "people", "value": 5}],
    }
    actor = {
        "id": ACTOR,
        "type": "Group",
        "inbox": f"{ACTOR}/inbox",
        "endpoints": {"sharedInbox": f"{ORIGIN}/inbox"},
        "publicKey": {"id": f"{ACTOR}#main-key", "owner": ACTOR, "publicKeyPem": "-----BEGIN"},
        "assertionMethod": [
            {
                "id": f"{ACTOR}#ed25519-key",
                "type": "Multikey",
                "controller": ACTOR,
                "publicKeyMultibase": "z6Mk",
            }
        ],
    }
    activity = build_create(f"{ORIGIN}/activities/1", ACTOR, event)
    return {"event": event, "report": report, "actor": actor, "activity": activity}


VALID = _valid_documents()


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> Any:
    """A valid document of ``kind`` with some fields replaced, removed or nested oddly."""
    doc = copy.deepcopy(VALID[kind])
    for _ in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(["set", "delete", "nest", "set-inner", "type-list"]))
        if action == "type-list":  # AS2 allows a list of types, on the document or inside
            holder = draw(st.sampled_from([doc, *(v for v in doc.values() if isinstance(v, dict))]))
            holder["type"] = draw(listed_types(holder.get("type")))
        elif action == "set":
            doc[draw(KEYS)] = draw(JSON)
        elif action == "delete" and doc:
            doc.pop(draw(st.sampled_from(sorted(doc))), None)
        elif action == "nest":
            key = draw(st.sampled_from(sorted(doc) or ["id"]))
            doc[key] = draw(st.sampled_from([[doc.get(key)], {"id": doc.get(key)}, [], {}]))
        else:
            inner = [v for v in doc.values() if isinstance(v, dict)]
            if inner:
                draw(st.sampled_from(inner))[draw(KEYS)] = draw(JSON)
    return doc


def listed_types(current: object) -> st.SearchStrategy[list[Any]]:
    """``type`` as a list: the current type wrapped, among others, twice, or beside junk."""
    return st.just([current]) | st.lists(st.just(current) | TYPES | SCALARS, max_size=3)


def documents(kind: str) -> st.SearchStrategy[Any]:
    return mutated(kind) | JSON


# -- the parsers -----------------------------------------------------------------------------


@FAST
@given(doc=documents("activity"), allow_http=st.booleans())
def test_parse_activity_fails_only_with_protocol_errors(doc: Any, allow_http: bool) -> None:
    with contextlib.suppress(ProtocolError):
        activity = parse_activity(doc, allow_http=allow_http)
        same_origin_claims(activity)  # the origin rules read the object's type (a list: 500)
        attribution_is_actor(activity)


@FAST
@given(doc=documents("actor"), allow_http=st.booleans())
def test_parse_actor_fails_only_with_protocol_errors(doc: Any, allow_http: bool) -> None:
    with contextlib.suppress(ProtocolError):
        parse_actor(doc, allow_http=allow_http)


@FAST
@given(doc=documents("event"), allow_http=st.booleans())
def test_parse_event_fails_only_with_protocol_errors(doc: Any, allow_http: bool) -> None:
    with contextlib.suppress(ProtocolError):
        parse_event(doc, allow_http=allow_http)


@FAST
@given(doc=documents("report"), allow_http=st.booleans())
def test_parse_report_fails_only_with_protocol_errors(doc: Any, allow_http: bool) -> None:
    with contextlib.suppress(ProtocolError):
        parse_report(doc, allow_http=allow_http)


# -- list-valued types and the JSON body (issue 14) ----------------------------------------------

PARSERS = {
    "activity": parse_activity,
    "actor": parse_actor,
    "event": parse_event,
    "report": parse_report,
}


def _outcome(check: Any, *args: Any) -> str:
    """What a check makes of its input: "ok", or the error it raised (class and message)."""
    try:
        check(*args)
    except ProtocolError as exc:
        return f"{type(exc).__name__}: {exc}"
    return "ok"


@FAST
@given(kind=st.sampled_from(sorted(PARSERS)), data=st.data())
def test_a_type_wrapped_in_a_one_element_list_parses_to_the_same_thing(
    kind: str, data: st.DataObject
) -> None:
    """``"type": X`` and ``"type": [X]`` are the same document: the same parse, and the same
    verdict from the origin rules, also when the embedded object's type is the wrapped one."""
    doc = data.draw(mutated(kind))
    parse = PARSERS[kind]
    wrapped = dict(doc)
    if isinstance(doc.get("type"), str):
        wrapped["type"] = [doc["type"]]
    inner = doc.get("object")
    if (
        kind == "activity"
        and isinstance(inner, dict)
        and isinstance(inner.get("type"), str)
        and data.draw(st.booleans())
    ):
        wrapped["object"] = {**inner, "type": [inner["type"]]}
    try:
        plain = parse(doc)
    except ProtocolError as exc:
        with pytest.raises(type(exc)):
            parse(wrapped)
        return
    again = parse(wrapped)
    if kind == "activity":
        assert dataclasses.replace(again, raw=plain.raw, object=plain.object) == plain
        for rule in (same_origin_claims, attribution_is_actor):
            assert _outcome(rule, again) == _outcome(rule, plain)
    else:
        assert again == plain


def test_the_valid_documents_parse_with_their_types_wrapped() -> None:
    """The property above is not vacuous: every valid document parses, wrapped or not."""
    for kind, parse in PARSERS.items():
        doc = VALID[kind]
        wrapped = {**doc, "type": [doc["type"]]}
        if kind == "activity":
            wrapped["object"] = {**doc["object"], "type": [doc["object"]["type"]]}
            assert parse(wrapped).type == parse(doc).type == "Create"
            attribution_is_actor(parse(wrapped))
        else:
            assert parse(wrapped) == parse(doc)


BODIES = st.one_of(
    st.binary(max_size=256),
    JSON.map(lambda v: orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS)),
    mutated("activity").map(lambda v: orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS)),
)


def _with_duplicate(body: bytes, key: str, value: Any) -> bytes:
    """``body`` (a JSON object) with ``key`` written once more, first."""
    first = orjson.dumps(key) + b": " + orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    rest = body[1:].lstrip()
    return b"{" + first + (b"" if rest.startswith(b"}") else b", ") + rest


@FAST
@given(body=BODIES, duplicate=st.booleans(), data=st.data())
def test_json_bodies_fail_only_as_malformed_and_duplicates_are_always_found(
    body: bytes, duplicate: bool, data: st.DataObject
) -> None:
    try:
        loaded = load_json_object(body, max_depth=MAX_JSON_DEPTH)
    except MalformedDocument:
        return
    assert loaded == orjson.loads(body)
    if duplicate and loaded:
        key = data.draw(st.sampled_from(sorted(loaded)))
        twice = _with_duplicate(body, key, data.draw(SCALARS))  # nothing else to refuse
        with pytest.raises(MalformedDocument, match="duplicate key"):
            load_json_object(twice, max_depth=MAX_JSON_DEPTH)


@FAST
@given(
    text=st.lists(
        st.text(max_size=8) | st.sampled_from(['":', '" :', '\\":', '"\t:', "}:", '""::']),
        max_size=6,
    ).map("".join),
    indent=st.sampled_from([None, 0, 2]),
    spaced=st.booleans(),
)
def test_a_valid_body_with_quote_colon_inside_strings_still_loads(
    text: str, indent: int | None, spaced: bool
) -> None:
    doc = copy.deepcopy(VALID["activity"])
    doc["object"]["content"] = f"<p>{text}</p>"
    doc["object"]["name"] = text
    doc["summary"] = {"a": text}["a"]
    separators = (", ", " : ") if spaced else (",", ":")
    body = json.dumps(doc, indent=indent, separators=separators, ensure_ascii=False).encode()
    assert load_json_object(body, max_depth=MAX_JSON_DEPTH) == doc
    parse_activity(load_json_object(body, max_depth=MAX_JSON_DEPTH))


# -- signatures ------------------------------------------------------------------------------

RSA = generate_rsa_key(2048)
INBOX_URL = f"{ORIGIN}/actors/greenpark/inbox"
BODY = orjson.dumps(VALID["activity"])
HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)
    | st.sampled_from('"=,;:()@* \t'),
    max_size=120,
)
SIGNATURE_PIECES = st.lists(
    st.sampled_from(
        [
            'keyId="https://chapter.example/actors/greenpark#main-key"',
            'keyId=""',
            "keyId=unquoted",
            'algorithm="rsa-sha256"',
            'algorithm="hs2019"',
            'algorithm="ed25519"',
            'headers="(request-target) host date digest"',
            'headers="(created) (expires)"',
            'headers=""',
            'signature="AAAA"',
            'signature="!!!"',
            "created=1700000000",
            "created=99999999999999999999",
            "expires=-1",
            'created="x"',
            '"',
            "=",
            ",",
        ]
    )
    | HEADER_TEXT,
    max_size=6,
).map(",".join)
SF_PIECES = st.lists(
    st.sampled_from(
        [
            'sig1=("@method" "@target-uri" "content-digest");created=1700000000;keyid="k"',
            'sig1=("@method");keyid="k";alg="ed25519"',
            'sig1=("@query-param";name="x");keyid="k"',
            'sig1=("@status");keyid="k"',
            'sig1=("date";sf);keyid="k"',
            "sig1=()",
            "sig1=(",
            'sig1=("@method");created=-5;keyid="k"',
            'sig1=("@method");created=1e3;keyid="k"',
            "sig1=:AAAA:",
            "sig1=:!!:",
            "sig1=?1",
            "sig1=12345678901234567890",
            "sig1=1.23456",
            'sig1="\\x"',
            "SIG=1",
        ]
    )
    | HEADER_TEXT,
    max_size=3,
).map(", ".join)


@st.composite
def garbage_requests(draw: st.DrawFn) -> HttpRequest:
    headers: list[tuple[str, str]] = [
        ("Host", "chapter.example"),
        (
            "Date",
            draw(
                st.sampled_from(
                    [
                        "Sun, 01 Nov 2026 12:00:00 GMT",
                        "yesterday",
                        "",
                        "Sun, 01 Nov 2026 12:00:00 +0100",
                    ]
                )
            ),
        ),
    ]
    mode = draw(st.sampled_from(["cavage", "authorization", "rfc9421", "both", "mutated"]))
    if mode == "mutated":
        signer = draw(st.sampled_from([sign_request_cavage, sign_request_rfc9421]))
        signed = signer(
            HttpRequest.from_mapping("POST", INBOX_URL, {"Content-Type": "x"}, BODY),
            key_id=f"{ACTOR}#main-key",
            private_key=RSA,
            now=NOW,
        )
        pairs = list(signed.headers)
        index = draw(st.integers(0, len(pairs) - 1))
        name, value = pairs[index]
        position = draw(st.integers(0, max(0, len(value) - 1)))
        pairs[index] = (name, value[:position] + draw(HEADER_TEXT) + value[position + 1 :])
        headers = pairs
    if mode in {"cavage", "both"}:
        headers.append(("Signature", draw(SIGNATURE_PIECES)))
    if mode == "authorization":
        headers.append(("Authorization", "Signature " + draw(SIGNATURE_PIECES)))
    if mode in {"rfc9421", "both"}:
        headers.append(("Signature-Input", draw(SF_PIECES)))
        headers.append(("Signature", draw(SF_PIECES)))
    for _ in range(draw(st.integers(0, 2))):
        headers.append(
            (draw(st.sampled_from(["Digest", "Content-Digest", "Host", "Date"])), draw(HEADER_TEXT))
        )
    url = draw(
        st.sampled_from([INBOX_URL, f"{INBOX_URL}?a=1&a=2", "https://chapter.example", "not a url"])
    )
    body = draw(st.sampled_from([BODY, b"", None]))
    return HttpRequest.from_mapping("POST", url, headers, body)


@FAST
@given(request=garbage_requests())
def test_signature_parsing_and_verification_fail_only_with_signature_errors(
    request: HttpRequest,
) -> None:
    with contextlib.suppress(SignatureError):
        signature_key_id(request)
    with contextlib.suppress(SignatureError):
        verify_request(request, RSA.public_key(), now=NOW)


# -- proofs ----------------------------------------------------------------------------------

ED = Ed25519PrivateKey.generate()
PROVEN = create_proof(VALID["report"], ED, verification_method=f"{ACTOR}#ed25519-key", created=NOW)


@st.composite
def proof_documents(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(PROVEN)
    target = draw(st.sampled_from(["document", "proof", "replace-proof", "context"]))
    if target == "document":
        doc[draw(KEYS)] = draw(JSON)
    elif target == "proof":
        proof = doc["proof"]
        field = draw(
            st.sampled_from(
                [
                    "type",
                    "cryptosuite",
                    "verificationMethod",
                    "proofPurpose",
                    "proofValue",
                    "created",
                    "@context",
                ]
            )
            | KEYS
        )
        if draw(st.booleans()):
            proof[field] = draw(JSON)
        else:
            proof.pop(field, None)
    elif target == "replace-proof":
        doc["proof"] = draw(JSON)
    else:
        doc["@context"] = draw(JSON)
    return doc


@FAST
@given(doc=proof_documents() | documents("report"))
def test_proof_verification_fails_only_with_proof_errors(doc: Any) -> None:
    if not isinstance(doc, dict):
        return  # the API takes a mapping; the inbox only passes JSON objects
    with contextlib.suppress(ProofError):
        proof_verification_method(doc)
    with contextlib.suppress(ProofError):
        verify_proof(doc, ED.public_key(), now=NOW)


def test_the_untouched_proof_verifies() -> None:
    """The fuzzed proof is a real one (so the test above exercises the whole verifier)."""
    assert (
        verify_proof(PROVEN, ED.public_key(), now=NOW).verification_method == f"{ACTOR}#ed25519-key"
    )


# -- the real HTTP inbox -------------------------------------------------------------------


class LoopThread:
    """An event loop in a thread, for driving async servers from a synchronous test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class World:
    def __init__(self, target: Target, hostile: HostileServer, honest: Honest, nodes: list[Node]):
        self.target, self.hostile, self.honest, self.nodes = target, hostile, honest, nodes


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[LoopThread, World]]:
    runner = LoopThread()

    async def up() -> World:
        hostile = await HostileServer().start()
        hostile.add_actor("mallory")
        hostile.add_actor("eve", kind="Group", **{"chapterhouse:kind": "chapter"})
        target_node = await start_node(tmp_path / "target")
        honest_node = await start_node(tmp_path / "honest")
        chapter = (await target_node.chapter("greenpark")).actor
        member = await target_node.member("bea")
        target = Target(target_node, chapter.ap_id, member.actor.ap_id, member.token)
        honest = Honest(honest_node, (await honest_node.member("alice")).actor)
        return World(target, hostile, honest, [target_node, honest_node])

    async def down(w: World) -> None:
        for node in w.nodes:
            await node.stop()
        await w.hostile.stop()

    w = runner.run(up())
    try:
        yield runner, w
    finally:
        runner.run(down(w))
        runner.close()


CONTENT_TYPES = st.sampled_from(
    [
        "application/activity+json",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "application/json",
        "text/plain",
        "",
        "application/activity+json; charset=utf-16",
        "multipart/form-data; boundary=--",
    ]
)
HEADER_VALUE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)


@st.composite
def inbox_requests(
    draw: st.DrawFn, hostile: HostileServer, target: Target
) -> tuple[str, bytes, dict[str, str]]:
    path = draw(st.sampled_from(["/inbox", "/actors/greenpark/inbox", "/actors/nobody/inbox"]))
    url = f"{target.node.base_url}{path}"
    mallory = hostile.actor_id("mallory")
    kind = draw(st.sampled_from(["bytes", "json", "activity", "activity", "activity"]))
    if kind == "bytes":
        body = draw(st.binary(max_size=512))
    elif kind == "json":
        body = orjson.dumps(draw(JSON), option=orjson.OPT_NON_STR_KEYS)
    else:
        activity: dict[str, Any] = draw(
            st.sampled_from(["follow", "create"]).map(
                lambda k: (
                    build_follow(hostile.activity_id(), mallory, target.chapter)
                    if k == "follow"
                    else build_create(
                        hostile.activity_id(),
                        mallory,
                        {
                            **VALID["event"],
                            "id": hostile.url("/actors/mallory/actions/x"),
                            "attributedTo": mallory,
                        },
                    )
                )
            )
        )
        for _ in range(draw(st.integers(0, 3))):
            if draw(st.booleans()):
                activity[draw(KEYS)] = draw(JSON)
            elif isinstance(activity.get("object"), dict):
                activity["object"][draw(KEYS)] = draw(JSON)
        if draw(st.booleans()):  # list-valued types, on the activity or its object
            holder = activity["object"] if isinstance(activity.get("object"), dict) else activity
            if draw(st.booleans()):
                holder = activity
            holder["type"] = draw(listed_types(holder.get("type")))
        body = orjson.dumps(activity, option=orjson.OPT_NON_STR_KEYS)
        if draw(st.integers(0, 3)) == 0:  # a key written twice
            body = _with_duplicate(body, draw(st.sampled_from(sorted(activity))), draw(JSON))
    signing = draw(st.sampled_from(["cavage", "rfc9421", "none", "garbage", "mutated"]))
    if signing in {"cavage", "rfc9421", "mutated"}:
        headers = hostile.signed_headers(
            url, body, scheme=signing if signing != "mutated" else "cavage"
        )
    else:
        headers = {}
    if signing == "garbage":
        headers["Signature"] = draw(SIGNATURE_PIECES)
    if signing == "mutated":
        name = draw(st.sampled_from(sorted(headers)))
        headers[name] = draw(HEADER_VALUE)
    headers["Content-Type"] = draw(CONTENT_TYPES)
    for _ in range(draw(st.integers(0, 2))):
        headers[
            draw(
                st.sampled_from(
                    ["Digest", "Date", "Signature-Input", "Content-Digest", "X-Forwarded-Host"]
                )
            )
        ] = draw(HEADER_VALUE)
    return url, body, headers


ANSWERS = {202, 400, 401, 403, 404, 409, 413, 415, 422, 429}
CRASH = re.compile(r"^[A-Z]\w*(Error|Exception|Exit|Interrupt)\b")


def test_inbox_endpoint_never_answers_5xx(world: tuple[LoopThread, World]) -> None:
    runner, w = world
    seen: list[int] = []

    @SLOW
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        url, body, headers = data.draw(inbox_requests(w.hostile, w.target))
        reply = runner.run(send(url, body, headers))
        seen.append(reply.status)
        assert reply.status < 500, (url, body[:200], headers, reply)
        assert reply.status in ANSWERS, (url, body[:200], headers, reply)

    fuzz()
    assert 202 in seen and 401 in seen and 400 in seen, sorted(set(seen))

    async def drained() -> list[tuple[str, str]]:
        # What the inbox worker made of whatever was taken in: nothing may crash a handler.
        for _ in range(100):
            async with w.target.node.services.db.read() as session:
                waiting = list(
                    await session.scalars(
                        select(InboxItem).where(
                            InboxItem.state == "received", InboxItem.attempts == 0
                        )
                    )
                )
            if not waiting:
                break
            await asyncio.sleep(0.05)
        async with w.target.node.services.db.read() as session:
            items = list(await session.scalars(select(InboxItem)))
        return [(i.activity_type, i.error or "") for i in items if CRASH.match(i.error or "")]

    assert runner.run(drained()) == []
    runner.run(assert_serves_honest(w.target, w.honest))


# -- what the fuzzing found (regressions; fixed in the product) --------------------------------


@pytest.mark.parametrize("status", [[], ["CANCELLED"], {}, {"@value": "CANCELLED"}])
def test_parse_event_with_a_non_string_status(status: object) -> None:
    try:
        call = parse_event({**VALID["event"], "ical:status": status})
    except ProtocolError:
        return
    assert call.status in {"CONFIRMED", "CANCELLED", "TENTATIVE"}


def test_event_with_a_list_status_does_not_crash_the_inbox_worker(
    world: tuple[LoopThread, World],
) -> None:
    runner, w = world
    hostile, target = w.hostile, w.target
    eve = hostile.actor_id("eve")
    event = {
        **VALID["event"],
        "id": hostile.url("/actors/eve/actions/status"),
        "attributedTo": eve,
        "ical:status": [],
    }
    activity = build_create(hostile.activity_id(), eve, event)

    async def go() -> InboxItem:
        from tests.rig.bulk import add_followers

        await add_followers(target.node, eve, [(target.member, None)])
        reply = await hostile.post(target.inbox, activity, as_actor="eve")
        assert reply.status == 202, reply
        for _ in range(100):
            async with target.node.services.db.read() as session:
                item = await session.scalar(
                    select(InboxItem).where(InboxItem.activity_id == activity["id"])
                )
            if item is not None and (item.state != "received" or item.attempts):
                return item
            await asyncio.sleep(0.05)
        raise AssertionError("the Event was never handled")

    item = runner.run(go())
    assert not CRASH.match(item.error or ""), item.error
    runner.run(assert_serves_honest(w.target, w.honest))


# -- Unicode hosts (SSRF guard): normalised to ASCII and judged by that, or refused -----------
# Self-contained block: its imports are local so the block can sit at the end of the file.

_HOST_PIECES = st.sampled_from(
    [
        *"0123456789abcfxX-_",
        *"０１２７９",  # fullwidth digits
        *"⓪①②⑦⑨",  # circled digits
        *"𝟎𝟏𝟕",  # mathematical bold digits
        *"ｌｏｃＡＬ",  # fullwidth letters
        *"ßüΣ",
        "\u00ad",  # soft hyphen (mapped to nothing)
        "\u200d",  # zero-width joiner
        "%2e",
        "%",
        "[",
        "]",
        ":",
        "@",
        "\\",
        " ",
        "127",
        "0x7f",
        "0177",
        "2130706433",
        "localhost",
        "xn--",
        "xn--mnchen-3ya",
    ]
)
_HOST_LABELS = st.one_of(
    st.lists(_HOST_PIECES, max_size=6).map("".join),
    st.text(st.characters(), max_size=6),  # anything at all, surrogates and controls included
)
_HOST_DOTS = st.sampled_from([".", "\u3002", "\uff0e", "\uff61"])


@st.composite
def unicode_hosts(draw: st.DrawFn) -> str:
    """Hosts as a hostile URL might spell them: labels of odd digits and letters, joined by
    any of the full stops UTS #46 maps to ``.``."""
    labels = draw(st.lists(_HOST_LABELS, min_size=1, max_size=5))
    host = labels[0]
    for label in labels[1:]:
        host += draw(_HOST_DOTS) + label
    return host


@FAST
@given(host=unicode_hosts())
def test_host_normaliser_returns_ascii_or_invalid_host(host: str) -> None:
    from protocol.hosts import InvalidHost, normalise_host

    try:
        normal = normalise_host(host)
    except InvalidHost:
        return
    assert normal.isascii() and normal == normal.lower(), normal
    assert normalise_host(normal) == normal  # the normal form is a fixed point


@FAST
@given(host=unicode_hosts(), allow_private=st.booleans(), port=st.sampled_from(["", ":8080"]))
def test_check_url_judges_unicode_hosts_by_their_normal_form(
    host: str, allow_private: bool, port: str
) -> None:
    import ipaddress
    from urllib.parse import urlsplit

    from yarl import URL

    from node.federation.netguard import BlockedDestination, NetworkPolicy, check_url

    policy = NetworkPolicy(allow_private)
    try:
        normal = check_url(f"http://{host}{port}/x", policy=policy, allow_http=True)
    except BlockedDestination:
        return
    # Approved: the host requested is ASCII and reads the same to the HTTP client, the URL is
    # approved again as it stands, and, when its host is an address, the policy allows it.
    # (What follows the host, e.g. after a "?" the strategy drew, is the client's to encode.)
    authority = urlsplit(normal).netloc
    assert authority.isascii() and authority == authority.lower(), normal
    assert check_url(normal, policy=policy, allow_http=True) == normal
    seen = URL(normal)
    assert seen.raw_host is not None
    assert seen.raw_host == (urlsplit(normal).hostname or "").strip("[]"), normal
    try:
        address = ipaddress.ip_address(seen.raw_host)
    except ValueError:
        if not allow_private:
            assert seen.raw_host != "localhost" and not seen.raw_host.endswith(".localhost")
        return
    assert policy.allows(str(address), seen.port or 80), normal
