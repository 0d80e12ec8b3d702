"""Checking an eddsa-jcs-2022 proof and hashing the whole document with one canonicalisation.

A relayed impact report needs two hashes of one document: the proof covers SHA-256(JCS(document
without ``proof``)), and a rollup pins SHA-256(JCS(whole document)). RFC 8785 §3.2.3 serialises
an object as ``{`` + its members, sorted by the UTF-16 code units of their names, joined by ``,``
+ ``}``; each member is ``JCS(name):JCS(value)``. The two documents share every member but
``proof``, so each member is canonicalised once (by ``rfc8785``, through
``protocol.proofs.canonical_json``) and both byte strings are assembled from the members. The
tests check the assembly against ``canonical_json`` of the whole document.

Most documents take ``protocol.jcs`` instead: one check of the whole document, then orjson
writes the three canonical forms (proof config, document without ``proof``, whole document) in
a few µs. The member-by-member assembly below is the path for the rest.

A ``@context`` is the same long list on every document a node publishes and costs more to
canonicalise than the rest of a report; a ``JcsCache`` keeps its canonical bytes for a batch.

``verify_many`` is what a proof-checking worker process runs: pure, picklable arguments in and
out, no clock (the caller passes ``now``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from protocol.errors import MalformedDocument
from protocol.jcs import fast_jcs, jcs_of_part
from protocol.proofs import (
    ASSERTION_METHOD,
    CLOCK_SKEW,
    IntegrityProofError,
    JsonObject,
    ProofFailure,
    VerifiedProof,
    _check_purpose,
    _check_time,
    _parse_proof,
    _ParsedProof,
    _verified,
    canonical_json,
)

CONTEXT_KEY = "@context"

#: Canonical bytes of ``@context`` values, keyed by their JSON text (one batch's worth).
JcsCache = dict[str, bytes]


def _canonical_context(value: object, cache: JcsCache | None) -> bytes:
    if cache is None:
        return canonical_json(value)
    try:
        key = json.dumps(value, ensure_ascii=False, allow_nan=False, check_circular=False)
    except (TypeError, ValueError):  # not plain JSON: canonical_json says why
        return canonical_json(value)
    found = cache.get(key)
    if found is None:
        found = cache[key] = canonical_json(value)
    return found


def _members(document: Mapping[str, object], cache: JcsCache | None) -> dict[str, bytes]:
    """``JCS(name):JCS(value)`` of each member of a JSON object (the ``proof`` object, which
    repeats the ``@context``, assembled from its members in turn). Each value is copied and
    checked by ``canonical_json`` on its own: no deep copy of the whole document first."""
    out: dict[str, bytes] = {}
    for name, value in document.items():
        if not isinstance(name, str):
            raise MalformedDocument(f"object key {name!r} is not a string")
        if name == CONTEXT_KEY:
            canonical = _canonical_context(value, cache)
        elif name == "proof" and isinstance(value, Mapping):
            canonical = _assemble(_members(value, cache))
        else:
            canonical = canonical_json(value)
        out[name] = canonical_json(name) + b":" + canonical
    return out


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-be", "surrogatepass")


def _assemble(members: Mapping[str, bytes], without: str | None = None) -> bytes:
    names = sorted((n for n in members if n != without), key=_utf16)
    return b"{" + b",".join(members[n] for n in names) + b"}"


def jcs_digest(document: Mapping[str, object], cache: JcsCache | None = None) -> str:
    """``protocol.proofs.jcs_sha256(document)``, reusing ``cache`` for its ``@context``."""
    whole = fast_jcs(document)
    if whole is not None:
        return hashlib.sha256(whole).hexdigest()
    return hashlib.sha256(_assemble(_members(document, cache))).hexdigest()


def _parse_proof_sharing_context(document: Mapping[str, object]) -> _ParsedProof:
    """``_parse_proof``, without deep-copying the proof's ``@context`` (it checks nothing in
    it): the value is put back as is, for ``_canonical_context`` to canonicalise or reuse."""
    proof = document.get("proof")
    if not isinstance(proof, Mapping) or CONTEXT_KEY not in proof:
        return _parse_proof(document)
    context = proof[CONTEXT_KEY]
    parsed = _parse_proof({"proof": {k: v for k, v in proof.items() if k != CONTEXT_KEY}})
    options: JsonObject = {CONTEXT_KEY: context, **parsed.options}
    return dataclasses.replace(parsed, options=options)


def proof_method(document: Mapping[str, object]) -> str:
    """``protocol.proofs.proof_verification_method`` (the same shape checks and failures),
    without deep-copying the proof's ``@context``: the key is looked up before the proof is
    verified (in a worker process), and this copy was most of the lookup's cost."""
    return _parse_proof_sharing_context(document).verification_method


def verify_proof_digest(
    document: Mapping[str, object],
    public_key: Ed25519PublicKey,
    *,
    now: datetime,
    skew: timedelta = CLOCK_SKEW,
    expected_purpose: str | None = ASSERTION_METHOD,
    cache: JcsCache | None = None,
) -> tuple[VerifiedProof, str]:
    """``protocol.proofs.verify_proof`` (the same checks and failures), and the document's
    ``jcs_sha256``: by ``protocol.jcs`` when the document passes its checks, else canonicalising
    each member once (module doc)."""
    parsed = _parse_proof_sharing_context(document)
    _check_time(parsed, now, skew)
    _check_purpose(parsed, expected_purpose)
    fast = _fast_parts(document, parsed.options)
    if fast is not None:
        config, unsecured, whole = fast
    else:
        config, unsecured, whole = _exact_parts(document, parsed.options, cache)
    hash_data = hashlib.sha256(config).digest() + hashlib.sha256(unsecured).digest()
    return _verified(parsed, public_key, hash_data), hashlib.sha256(whole).hexdigest()


def _fast_parts(
    document: Mapping[str, object], options: JsonObject
) -> tuple[bytes, bytes, bytes] | None:
    """JCS of the proof config, the document without ``proof`` and the whole document, by
    ``protocol.jcs`` when the document passes its checks (one walk; every part lies inside the
    document), else ``None``. Refuses a proof ``@context`` that differs from the document's."""
    whole = fast_jcs(document)
    if whole is None:
        return None
    if CONTEXT_KEY in options:
        if CONTEXT_KEY not in document:
            raise IntegrityProofError(
                ProofFailure.CONTEXT_MISMATCH, "proof has an @context but the document has none"
            )
        if jcs_of_part(options[CONTEXT_KEY]) != jcs_of_part(document[CONTEXT_KEY]):
            raise IntegrityProofError(
                ProofFailure.CONTEXT_MISMATCH, "proof @context differs from the document @context"
            )
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    return jcs_of_part(options), jcs_of_part(unsecured), whole


def _exact_parts(
    document: Mapping[str, object], options: JsonObject, cache: JcsCache | None
) -> tuple[bytes, bytes, bytes]:
    """``_fast_parts`` by ``canonical_json`` member by member (module doc)."""
    try:
        members = _members(document, cache)
        config = _assemble(_members(options, cache))
        if CONTEXT_KEY in options:
            if CONTEXT_KEY not in document:
                raise IntegrityProofError(
                    ProofFailure.CONTEXT_MISMATCH, "proof has an @context but the document has none"
                )
            if _canonical_context(options[CONTEXT_KEY], cache) != _canonical_context(
                document[CONTEXT_KEY], cache
            ):
                raise IntegrityProofError(
                    ProofFailure.CONTEXT_MISMATCH,
                    "proof @context differs from the document @context",
                )
    except MalformedDocument as exc:
        raise IntegrityProofError(ProofFailure.MALFORMED_DOCUMENT, str(exc)) from exc
    return config, _assemble(members, without="proof"), _assemble(members)


#: One proof to check: the document and the raw 32-byte Ed25519 public key to check it with.
ProofJob = tuple[Mapping[str, object], bytes]
#: ("ok", sha256 of the whole document, "") or ("failed", ProofFailure value, detail).
ProofOutcome = tuple[str, str, str]


def verify_many(jobs: Sequence[ProofJob], now: datetime, skew: timedelta) -> list[ProofOutcome]:
    """Check each job's proof (``verify_proof_digest``), sharing one ``JcsCache``; a failure is
    an outcome, never raised, so one bad proof does not cost the others theirs."""
    cache: JcsCache = {}
    out: list[ProofOutcome] = []
    for document, raw_key in jobs:
        try:
            key = Ed25519PublicKey.from_public_bytes(raw_key)
            _, digest = verify_proof_digest(document, key, now=now, skew=skew, cache=cache)
        except IntegrityProofError as exc:
            out.append(("failed", exc.reason.value, exc.detail))
        except ValueError as exc:  # a key that is not 32 bytes
            out.append(("failed", ProofFailure.INVALID.value, f"unusable key: {exc}"))
        else:
            out.append(("ok", digest, ""))
    return out
