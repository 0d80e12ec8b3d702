"""The orjson fast path for RFC 8785 (protocol/jcs.py): its bytes are the exact implementation's
(``rfc8785``) whenever it answers, on the RFC's own vectors, the repository's eddsa-jcs-2022
vectors, the documents a node signs and arbitrary JSON; every rule of its class is needed (the
naive ``orjson.dumps(OPT_SORT_KEYS)`` is wrong there) and sends the value to the exact path."""

from __future__ import annotations

import enum
import hashlib
import json
import struct
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType

import orjson
import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.jcs import KEY, event, report
from protocol.errors import MalformedDocument
from protocol.jcs import fast_jcs
from protocol.proof_digest import jcs_digest, verify_many, verify_proof_digest
from protocol.proofs import (
    IntegrityProofError,
    ProofFailure,
    _plain,
    canonical_json,
    create_proof,
    verify_proof,
)
from tests.vectors import VECTORS

RFC = VECTORS / "rfc8785"
JCS = VECTORS / "vc-di-eddsa" / "eddsa-jcs-2022"
NAIVE = orjson.OPT_SORT_KEYS
T = datetime(2027, 4, 12, 12, 0, tzinfo=UTC)


def exact(value: object) -> bytes:
    """What ``canonical_json`` did before the fast path (with its lone-surrogate-key fix)."""
    try:
        return rfc8785.dumps(_plain(value, 0))
    except (rfc8785.CanonicalizationError, UnicodeEncodeError) as exc:
        raise MalformedDocument(str(exc)) from exc


# --- vectors ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in (RFC / "input").iterdir()))
def test_the_rfc_8785_vectors_come_out_byte_for_byte(name):
    value = json.loads((RFC / "input" / name).read_text(encoding="utf-8"))
    expected = (RFC / "output" / name).read_bytes()
    assert canonical_json(value) == expected
    fast = fast_jcs(value)
    assert fast is None or fast == expected


def test_the_rfc_8785_vectors_without_floats_or_astral_keys_take_the_fast_path():
    for name in ("arrays.json", "french.json", "unicode.json"):
        value = json.loads((RFC / "input" / name).read_text(encoding="utf-8"))
        assert fast_jcs(value) == (RFC / "output" / name).read_bytes()


def test_the_es6_number_samples_come_out_as_the_rfc_says():
    lines = (RFC / "es6-number-samples.csv").read_text(encoding="utf-8").split()
    assert lines
    for line in lines:
        bits, expected = line.split(",")
        number = struct.unpack(">d", bytes.fromhex(bits.zfill(16)))[0]
        assert canonical_json(number) == expected.encode()
        fast = fast_jcs(number)
        assert fast is None or fast == expected.encode()


def test_the_eddsa_jcs_2022_vectors_take_the_fast_path():
    unsigned = json.loads((VECTORS / "vc-di-eddsa" / "unsigned.json").read_text(encoding="utf-8"))
    expected = (JCS / "canonDocJCS.txt").read_text(encoding="utf-8").strip().encode()
    assert fast_jcs(unsigned) == expected
    config = json.loads((JCS / "proofConfigJCS.json").read_text(encoding="utf-8"))
    expected = (JCS / "proofCanonJCS.txt").read_text(encoding="utf-8").strip().encode()
    assert fast_jcs(config) == expected


@pytest.mark.parametrize("build", [report, event])
def test_the_documents_a_node_signs_take_the_fast_path(build):
    """A signed report (integer and decimal measures) and an Event (coordinates, long
    ``@context``): the documents whose proofs are checked by the thousand."""
    doc = build()
    assert fast_jcs(doc) is not None
    assert canonical_json(doc) == fast_jcs(doc) == exact(doc)


# --- every rule is needed and taken -------------------------------------------------------


class Colour(enum.Enum):
    RED = "red"


class Word(enum.StrEnum):
    HELLO = "hello"


class Number(enum.IntEnum):
    ONE = 1


@dataclass
class Point:
    x: int


class Dict(dict[str, object]):
    pass


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


#: Values orjson writes, with sorted keys, other than JCS does (or where JCS has no form).
WRONG_IF_NAIVE = {
    "integral float": [2.0],
    "negative zero": {"a": -0.0},
    "float below 1e-5": [1e-6, 0.25],
    "float from 1e16": 1e16,
    "NaN": {"x": float("nan")},
    "infinity": [float("inf")],
    "astral key next to U+E000": {"\ue000": 1, "\U0001f600": 2},
    "enum": [Colour.RED],
    "uuid": {"id": uuid.UUID(int=7)},
}
#: Values whose JCS form orjson's may match, but that the fast path leaves to the exact one
#: (orjson refuses them, or the check is cheaper to do there).
LEFT_TO_EXACT = {
    "integer beyond 2**53 - 1": [2**53],
    "integer beyond 64 bits": 2**70,
    "lone surrogate value": ["\ud800"],
    "lone surrogate key": {"\udc00": 1},
    "non-string key": {1: "a"},
    "astral key alone": {"\U0001f600": 1},
    "str subclass": [Word.HELLO],
    "str subclass key": {Word.HELLO: 1, "a": 2},
    "int subclass": {"n": Number.ONE},
    "dict subclass": [Dict(a=1)],
    "other mapping": MappingProxyType({"a": 1}),
    "ordered dict": OrderedDict(b=1, a=2),
    "datetime": [T],
    "decimal": [Decimal("1.5")],
    "dataclass": [Point(1)],
    "bytes": [b"x"],
    "too deep": _nested(300),
}


@pytest.mark.parametrize("name", sorted(WRONG_IF_NAIVE))
def test_what_naive_orjson_gets_wrong_goes_to_the_exact_path(name):
    value = WRONG_IF_NAIVE[name]
    assert fast_jcs(value) is None
    try:
        expected = exact(value)
    except MalformedDocument:
        with pytest.raises(MalformedDocument):
            canonical_json(value)
        return
    assert orjson.dumps(value, option=NAIVE) != expected
    assert canonical_json(value) == expected


@pytest.mark.parametrize("name", sorted(LEFT_TO_EXACT))
def test_what_the_fast_path_does_not_vouch_for_goes_to_the_exact_path(name):
    value = LEFT_TO_EXACT[name]
    assert fast_jcs(value) is None
    try:
        expected = exact(value)
    except MalformedDocument:
        with pytest.raises(MalformedDocument):
            canonical_json(value)
        return
    assert canonical_json(value) == expected


def test_a_lone_surrogate_key_is_a_malformed_document_not_a_unicode_error():
    """``rfc8785`` sorts keys by their UTF-16 encoding, which raised ``UnicodeEncodeError``."""
    with pytest.raises(MalformedDocument):
        canonical_json({"\ud800": 1})


def test_a_cyclic_value_is_refused_not_a_crash():
    cyclic: list[object] = []
    cyclic.append(cyclic)
    assert fast_jcs(cyclic) is None
    with pytest.raises(MalformedDocument):
        canonical_json(cyclic)


def test_what_passes_prints_alike_at_the_edges():
    """Control characters (JCS's escapes), U+007F/U+2028 (not escaped), floats at the edges of
    the class, integers at ±(2**53 - 1), BMP keys up to U+FFFF sorted, tuples as arrays."""
    value = {
        "controls": "".join(map(chr, range(0x20))) + '"\\/\x7f\u2028\u2029',
        "\x1f\n": [1e-5, -1e-5, 0.1, 2.5, 2.0**51 + 0.5, 1e15 + 0.5],
        "ints": (2**53 - 1, -(2**53 - 1), 0, True, False, None),
        "\uffff": {"é": 1, "\ufb01": 2, "z": 3, "": 4},
    }
    assert fast_jcs(value) == exact(value)


# --- the property ---------------------------------------------------------------------------

_edge_floats = st.sampled_from(
    [0.0, -0.0, 1.0, 1e-5, 9.99e-6, 1e-6, 1e-7, 1e15 + 0.5, 1e16, 1e21, 5e-324, float("nan")]
)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(min_value=-1e17, max_value=1e17).map(lambda x: round(x, 3))
    | _edge_floats
    | st.text(st.characters(exclude_categories=()))  # surrogates and controls too
)
_keys = st.text(st.characters(exclude_categories=()), max_size=4) | st.sampled_from(
    ["\ue000", "\uffff", "\U0001f600", "a\U00010000", "a\ufb01", "\x00", "\n"]
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(_keys, inner, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json)
def test_the_fast_bytes_are_the_exact_bytes_of_any_json_value(value):
    try:
        expected: bytes | None = exact(value)
    except MalformedDocument:
        expected = None
    fast = fast_jcs(value)
    if fast is not None:
        assert fast == expected
    if expected is None:
        with pytest.raises(MalformedDocument):
            canonical_json(value)
    else:
        assert canonical_json(value) == expected


# --- the batched proof check ----------------------------------------------------------------


@pytest.mark.parametrize("build", [report, event])
def test_the_batched_check_takes_the_fast_path_and_agrees_with_verify_proof(build):
    signed = build()
    verified, digest = verify_proof_digest(signed, KEY.public_key(), now=T)
    assert verified == verify_proof(signed, KEY.public_key(), now=T)
    assert digest == jcs_digest(signed) == hashlib.sha256(exact(signed)).hexdigest()
    assert verify_many([(signed, KEY.public_key().public_bytes_raw())], T, T - T) == [
        ("ok", digest, "")
    ]


def test_the_fast_path_refuses_what_verify_proof_refuses():
    signed = report()
    proof = signed["proof"]
    assert isinstance(proof, dict)
    cases = {
        ProofFailure.INVALID: {**signed, "content": "edited"},
        ProofFailure.CONTEXT_MISMATCH: {**signed, "proof": {**proof, "@context": ["x"]}},
    }
    no_context = {k: v for k, v in signed.items() if k != "@context"}
    for reason, doc in [*cases.items(), (ProofFailure.CONTEXT_MISMATCH, no_context)]:
        assert fast_jcs(doc) is not None
        with pytest.raises(IntegrityProofError) as old:
            verify_proof(doc, KEY.public_key(), now=T)
        with pytest.raises(IntegrityProofError) as new:
            verify_proof_digest(doc, KEY.public_key(), now=T)
        assert old.value.reason == new.value.reason == reason


def test_a_document_off_the_fast_path_is_checked_member_by_member():
    doc = {**report(), "chapterhouse:weight": 2.0}  # an integral float: not orjson's "2.0"
    doc.pop("proof")
    signed = create_proof(doc, KEY, verification_method="https://a.example/u#k", created=T)
    assert fast_jcs(signed) is None
    _, digest = verify_proof_digest(signed, KEY.public_key(), now=T)
    assert digest == jcs_digest(signed) == hashlib.sha256(exact(signed)).hexdigest()
    assert b'"chapterhouse:weight":2,' in exact(signed)


_in_class_text = st.text(st.characters(exclude_categories=("Cs",)))
_in_class = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.floats(min_value=1e-5, max_value=1e16).filter(lambda x: not x.is_integer())
    | st.floats(min_value=-1e16, max_value=-1e-5).filter(lambda x: not x.is_integer())
    | _in_class_text,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",))),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_in_class)
def test_every_value_inside_the_class_takes_the_fast_path_with_the_exact_bytes(value):
    assert fast_jcs(value) == exact(value)
