"""One canonicalisation for both hashes a relayed report needs (protocol/proof_digest.py): the
assembled JCS must be RFC 8785's own, and the proof check must accept and refuse exactly what
``verify_proof`` does."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.jsonld import CONTEXT
from protocol.proof_digest import JcsCache, jcs_digest, verify_many, verify_proof_digest
from protocol.proofs import (
    IntegrityProofError,
    canonical_json,
    create_proof,
    jcs_sha256,
    verify_proof,
)

T = datetime(2027, 4, 12, 12, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()
DOCS = [
    {},
    {"b": 1, "a": [1.5, "x", None, True], "é": {"z": {}, "\U0001f600": 2, "\uffff": 3}},
    {"@context": CONTEXT, "id": "https://a.example/r/1", "content": "<p>“quoted”\n</p>", "n": 1e21},
    {"\U0001f600": "astral key sorts before U+FFFF in UTF-16", "\ufb01": 1, "a\u0000": 2},
]


@pytest.mark.parametrize("doc", DOCS)
def test_the_assembled_hash_is_the_hash_of_rfc_8785s_own_bytes(doc):
    cache: JcsCache = {}
    assert jcs_digest(doc) == jcs_sha256(doc) == hashlib.sha256(canonical_json(doc)).hexdigest()
    assert jcs_digest(doc, cache) == jcs_digest(doc, cache) == jcs_sha256(doc)


@pytest.mark.parametrize("doc", DOCS)
def test_a_proof_checks_and_hashes_as_verify_proof_and_jcs_sha256_do(doc):
    signed = create_proof(doc, KEY, verification_method="https://a.example/u#k", created=T)
    cache: JcsCache = {}
    for _ in range(2):  # the second time from the cache
        verified, digest = verify_proof_digest(signed, KEY.public_key(), now=T, cache=cache)
        assert verified == verify_proof(signed, KEY.public_key(), now=T)
        assert digest == jcs_sha256(signed)


def test_what_verify_proof_refuses_is_refused_with_the_same_reason():
    signed = create_proof(DOCS[2], KEY, verification_method="https://a.example/u#k", created=T)
    other = Ed25519PrivateKey.generate().public_key()
    edited = {**signed, "content": "edited"}
    context = {**signed, "@context": CONTEXT[:1]}
    late = T + timedelta(days=1)
    cases = [(edited, KEY.public_key(), T), (signed, other, T), (context, KEY.public_key(), T)]
    future = create_proof(DOCS[2], KEY, verification_method="https://a.example/u#k", created=late)
    cases.append((future, KEY.public_key(), T))
    for doc, key, now in cases:
        with pytest.raises(IntegrityProofError) as old:
            verify_proof(doc, key, now=now)
        with pytest.raises(IntegrityProofError) as new:
            verify_proof_digest(doc, key, now=now, cache={})
        assert new.value.reason == old.value.reason
    raw = KEY.public_key().public_bytes_raw()
    outcomes = verify_many(
        [(signed, raw), (edited, raw), (signed, b"short")], T, timedelta(hours=1)
    )
    assert outcomes[0] == ("ok", jcs_sha256(signed), "")
    assert outcomes[1][:2] == ("failed", "invalid_proof")
    assert outcomes[2][0] == "failed"
