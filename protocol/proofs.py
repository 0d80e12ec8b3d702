"""Object integrity proofs (FEP-8b32): W3C Data Integrity with the ``eddsa-jcs-2022`` cryptosuite.

A proof is a ``DataIntegrityProof`` object embedded as the document's ``proof``. What is signed
(vc-di-eddsa §3.3, JCS variant) is ::

    SHA-256(JCS(proof config)) ‖ SHA-256(JCS(document without "proof"))

where the proof config is the proof minus ``proofValue`` and carries the document's ``@context``
when the document has one. The Ed25519 signature over those 64 bytes, base58btc-multibase
encoded, is ``proofValue``. JCS is RFC 8785, so the proof survives any re-serialisation by a
relay (key order, whitespace, escapes) and breaks on any change of value.

Choices made here (all checked by ``verify_proof``):

* one proof per object: ``create_proof`` refuses an already-proven document; a ``proof`` that is
  a list is accepted only when it holds exactly one proof (proof sets/chains are refused);
* when the proof carries ``@context`` it must equal the document's ``@context`` exactly (the
  spec only requires the document's to *start with* the proof's; nothing we sign needs more, and
  the stricter rule makes any ``@context`` edit by a relay fail);
* ``proofPurpose`` must be ``assertionMethod`` (FEP-8b32) unless the caller asks otherwise;
* time (the caller passes ``now``; nothing here reads a clock): a proof whose ``expires`` is at or
  before ``now`` is refused (``EXPIRED``), and so is one ``created`` more than ``skew`` after
  ``now`` (``NOT_YET_VALID``): a signer cannot date a proof ahead to outlive its key or its
  expiry. ``skew`` defaults to ``CLOCK_SKEW``, the same hour the node allows an HTTP
  signature's ``Date`` to drift (``signature_window_seconds``); nodes pass their setting.

Pure: no I/O, no clock. Every failure is an ``IntegrityProofError`` (a ``ProofError``) whose
``reason`` is a stable identifier; callers should not match on message text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final, TypeAlias

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocol.errors import MalformedDocument, ProofError
from protocol.jcs import fast_jcs
from protocol.keys import bytes_to_multibase, multibase_to_bytes
from protocol.timefmt import format_xsd_datetime, parse_xsd_datetime

PROOF_TYPE: Final = "DataIntegrityProof"
CRYPTOSUITE: Final = "eddsa-jcs-2022"
ASSERTION_METHOD: Final = "assertionMethod"

#: How far a proof's ``created`` may lie ahead of the verifier's clock (clocks drift); the
#: default of the node's HTTP signature window (``signature_window_seconds``), which callers
#: with settings pass instead.
CLOCK_SKEW: Final = timedelta(hours=1)

_ED25519_SIGNATURE_LENGTH: Final = 64
_MAX_DEPTH: Final = 256

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
JsonObject: TypeAlias = "dict[str, JsonValue]"


class ProofFailure(StrEnum):
    """Why a proof could not be created or verified."""

    NO_PROOF = "no_proof"
    ALREADY_PROVEN = "already_proven"
    MALFORMED_DOCUMENT = "malformed_document"
    MALFORMED = "malformed_proof"
    UNSUPPORTED = "unsupported_proof"
    CONTEXT_MISMATCH = "context_mismatch"
    PURPOSE_MISMATCH = "purpose_mismatch"
    EXPIRED = "expired_proof"
    NOT_YET_VALID = "proof_created_in_the_future"
    INVALID = "invalid_proof"


class IntegrityProofError(ProofError):
    """A proof problem; ``reason`` is stable, ``detail`` is for humans and logs."""

    def __init__(self, reason: ProofFailure, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class VerifiedProof:
    """What a valid proof asserts: who signed (key URL), when they say they did, and why."""

    verification_method: str
    created: datetime | None
    proof_purpose: str
    expires: datetime | None = None


@dataclass(frozen=True, slots=True)
class _ParsedProof:
    options: JsonObject  # the proof without proofValue: exactly what was hashed
    signature: bytes
    verification_method: str
    proof_purpose: str
    created: datetime | None
    expires: datetime | None


# --- JSON / JCS -------------------------------------------------------------------------------


def _plain(value: object, depth: int) -> JsonValue:
    """A deep copy of ``value`` as plain JSON types (dict/list/scalars); anything else refused."""
    if depth > _MAX_DEPTH:
        raise MalformedDocument(f"document is nested deeper than {_MAX_DEPTH} levels")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        result: JsonObject = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise MalformedDocument(f"object key {key!r} is not a string")
            result[key] = _plain(item, depth + 1)
        return result
    if isinstance(value, list | tuple):
        return [_plain(item, depth + 1) for item in value]
    raise MalformedDocument(f"{type(value).__name__} is not a JSON value")


def _plain_object(document: Mapping[str, object]) -> JsonObject:
    plain = _plain(document, 0)
    if not isinstance(plain, dict):
        raise MalformedDocument("document must be a JSON object")
    return plain


def canonical_json(value: object) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value; ``MalformedDocument`` if it has no JCS form.

    Refused: non-JSON types, non-string keys, integers beyond ±(2**53 - 1), NaN/infinities,
    lone surrogates. Most documents take ``protocol.jcs.fast_jcs`` (orjson, the same bytes);
    the rest, and every refusal, the exact ``rfc8785`` path.
    """
    fast = fast_jcs(value)
    if fast is not None:
        return fast
    try:
        return rfc8785.dumps(_plain(value, 0))
    except (rfc8785.CanonicalizationError, UnicodeEncodeError) as exc:  # lone surrogate key
        raise MalformedDocument(f"document has no JCS form: {exc}") from exc


def jcs_sha256(document: Mapping[str, object]) -> str:
    """Hex SHA-256 of the JCS form of ``document`` as published (its ``proof`` included).

    Stable across key order and whitespace, so it pins one exact version of a document.
    """
    return hashlib.sha256(canonical_json(document)).hexdigest()


def strip_proof(document: Mapping[str, object]) -> dict[str, object]:
    """A deep copy of ``document`` without its ``proof`` (the "unsecured document")."""
    plain = _plain_object(document)
    plain.pop("proof", None)
    return dict(plain)


def proof_hash_data(
    proof_config: Mapping[str, object], unsecured_document: Mapping[str, object]
) -> bytes:
    """The 64 bytes eddsa-jcs-2022 signs: SHA-256(JCS(config)) ‖ SHA-256(JCS(document)).

    ``proof_config`` is the proof without ``proofValue`` (with ``@context`` if the proof has
    one); ``unsecured_document`` is the document without ``proof``.
    """
    return (
        hashlib.sha256(canonical_json(proof_config)).digest()
        + hashlib.sha256(canonical_json(unsecured_document)).digest()
    )


# --- creating ---------------------------------------------------------------------------------


def create_proof(
    document: Mapping[str, object],
    private_key: Ed25519PrivateKey,
    *,
    verification_method: str,
    created: datetime,
    proof_purpose: str = ASSERTION_METHOD,
    expires: datetime | None = None,
) -> dict[str, object]:
    """Return a new document: a deep copy of ``document`` plus an eddsa-jcs-2022 ``proof``.

    ``verification_method`` is the URL of the public key (``actor#ed25519-key``); ``created``
    (and ``expires``, when given: after it, verifiers refuse the proof) must be aware (a naive
    datetime raises ``ValueError``). The input is not modified. A document that already has a
    ``proof`` is refused (``ALREADY_PROVEN``): sign the unsecured original.
    """
    if not verification_method:
        raise ValueError("verification_method must be a non-empty key URL")
    if not proof_purpose:
        raise ValueError("proof_purpose must be non-empty")
    created_text = format_xsd_datetime(created)
    expires_text = format_xsd_datetime(expires) if expires is not None else None
    try:
        unsecured = _plain_object(document)
    except MalformedDocument as exc:
        raise IntegrityProofError(ProofFailure.MALFORMED_DOCUMENT, str(exc)) from exc
    if "proof" in unsecured:
        raise IntegrityProofError(
            ProofFailure.ALREADY_PROVEN, "document already has a proof; sign the unproven document"
        )

    config: JsonObject = {}
    if "@context" in unsecured:
        config["@context"] = _plain(unsecured["@context"], 0)
    config["type"] = PROOF_TYPE
    config["cryptosuite"] = CRYPTOSUITE
    config["verificationMethod"] = verification_method
    config["proofPurpose"] = proof_purpose
    config["created"] = created_text
    if expires_text is not None:
        config["expires"] = expires_text

    try:
        hash_data = proof_hash_data(config, unsecured)
    except MalformedDocument as exc:
        raise IntegrityProofError(ProofFailure.MALFORMED_DOCUMENT, str(exc)) from exc
    proof: JsonObject = {**config, "proofValue": bytes_to_multibase(private_key.sign(hash_data))}
    signed: dict[str, object] = dict(unsecured)
    signed["proof"] = proof
    return signed


# --- reading and verifying --------------------------------------------------------------------


def _malformed(detail: str) -> IntegrityProofError:
    return IntegrityProofError(ProofFailure.MALFORMED, detail)


def _non_empty_string(proof: JsonObject, name: str) -> str:
    value = proof.get(name)
    if value is None:
        raise _malformed(f"proof has no {name}")
    if not isinstance(value, str) or not value:
        raise _malformed(f"proof {name} must be a non-empty string")
    return value


def _single_proof(document: Mapping[str, object]) -> object:
    if "proof" not in document:
        raise IntegrityProofError(ProofFailure.NO_PROOF, "document has no proof")
    proof = document["proof"]
    if isinstance(proof, list | tuple):
        if not proof:
            raise IntegrityProofError(ProofFailure.NO_PROOF, "document proof is an empty list")
        if len(proof) > 1:
            raise IntegrityProofError(
                ProofFailure.UNSUPPORTED,
                f"proof sets/chains are not supported (document has {len(proof)} proofs)",
            )
        return proof[0]
    return proof


def _parse_proof(document: Mapping[str, object]) -> _ParsedProof:
    raw = _single_proof(document)
    if not isinstance(raw, Mapping):
        raise _malformed("proof must be a JSON object")
    try:
        proof = _plain_object(raw)
    except MalformedDocument as exc:
        raise _malformed(str(exc)) from exc

    proof_type = proof.get("type")
    if proof_type is None:
        raise _malformed("proof has no type")
    if proof_type != PROOF_TYPE:
        raise IntegrityProofError(
            ProofFailure.UNSUPPORTED, f"unsupported proof type {proof_type!r} (want {PROOF_TYPE})"
        )
    suite = proof.get("cryptosuite")
    if suite is None:
        raise _malformed("proof has no cryptosuite")
    if suite != CRYPTOSUITE:
        raise IntegrityProofError(
            ProofFailure.UNSUPPORTED, f"unsupported cryptosuite {suite!r} (want {CRYPTOSUITE})"
        )
    verification_method = _non_empty_string(proof, "verificationMethod")
    proof_purpose = _non_empty_string(proof, "proofPurpose")

    created = _optional_time(proof, "created")
    expires = _optional_time(proof, "expires")

    proof_value = _non_empty_string(proof, "proofValue")
    try:
        signature = multibase_to_bytes(proof_value)
    except MalformedDocument as exc:
        raise _malformed(f"proofValue is not base58btc multibase: {exc}") from exc
    if len(signature) != _ED25519_SIGNATURE_LENGTH:
        raise _malformed(
            f"proofValue holds {len(signature)} bytes, an Ed25519 signature has "
            f"{_ED25519_SIGNATURE_LENGTH}"
        )

    options = {name: value for name, value in proof.items() if name != "proofValue"}
    return _ParsedProof(options, signature, verification_method, proof_purpose, created, expires)


def _optional_time(proof: JsonObject, name: str) -> datetime | None:
    """``created`` or ``expires``: absent, or an xsd:dateTime with a time zone."""
    if name not in proof:
        return None
    value = proof[name]
    if not isinstance(value, str):
        raise _malformed(f"proof {name} must be an xsd:dateTime string")
    try:
        return parse_xsd_datetime(value)
    except MalformedDocument as exc:
        raise _malformed(f"proof {name} is not a valid xsd:dateTime: {value!r:.100}") from exc


def _check_time(parsed: _ParsedProof, now: datetime, skew: timedelta) -> None:
    """Refuse an expired proof, and one dated further ahead of ``now`` than clocks drift."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if parsed.expires is not None and parsed.expires <= now:
        raise IntegrityProofError(
            ProofFailure.EXPIRED,
            f"proof expired at {format_xsd_datetime(parsed.expires)} "
            f"(now {format_xsd_datetime(now)})",
        )
    if parsed.created is not None and parsed.created > now + skew:
        raise IntegrityProofError(
            ProofFailure.NOT_YET_VALID,
            f"proof created {format_xsd_datetime(parsed.created)}, more than {skew} after "
            f"now ({format_xsd_datetime(now)})",
        )


def proof_verification_method(document: Mapping[str, object]) -> str:
    """The ``verificationMethod`` of the document's proof, to fetch the right key first.

    The whole proof is checked for shape (type, cryptosuite, proofValue, ...) before anything is
    returned, so a proof that could never verify costs no key fetch.
    """
    return _parse_proof(document).verification_method


def controller_of(verification_method: str) -> str:
    """The key URL without its fragment: ``https://a.example/u/x#ed25519-key`` → the actor URL.

    A URL without a fragment is returned unchanged (the key is its own document).
    """
    controller = verification_method.partition("#")[0]
    if not controller:
        raise _malformed(f"verificationMethod {verification_method!r} has no URL before '#'")
    return controller


def verify_proof(
    document: Mapping[str, object],
    public_key: Ed25519PublicKey,
    *,
    now: datetime,
    skew: timedelta = CLOCK_SKEW,
    expected_purpose: str | None = ASSERTION_METHOD,
) -> VerifiedProof:
    """Verify the document's eddsa-jcs-2022 proof against ``public_key``, at time ``now``.

    The caller chooses the key (from ``proof_verification_method`` and the controller's
    ``assertionMethod``) and must still check that the controller is entitled to the document
    (e.g. ``controller_of(...) == document["actor"]``). ``now`` (aware; from the caller's clock)
    decides ``expires`` and how far ahead ``created`` may be (``skew``; module doc).
    ``expected_purpose=None`` accepts any ``proofPurpose``. Raises ``IntegrityProofError`` (a
    ``ProofError``) on every failure.
    """
    parsed = _parse_proof(document)
    _check_time(parsed, now, skew)
    _check_purpose(parsed, expected_purpose)
    try:
        unsecured = _plain_object(document)
    except MalformedDocument as exc:
        raise IntegrityProofError(ProofFailure.MALFORMED_DOCUMENT, str(exc)) from exc
    unsecured.pop("proof", None)

    if "@context" in parsed.options:
        if "@context" not in unsecured:
            raise IntegrityProofError(
                ProofFailure.CONTEXT_MISMATCH, "proof has an @context but the document has none"
            )
        try:
            same = canonical_json(parsed.options["@context"]) == canonical_json(
                unsecured["@context"]
            )
        except MalformedDocument as exc:
            raise IntegrityProofError(ProofFailure.MALFORMED_DOCUMENT, str(exc)) from exc
        if not same:
            raise IntegrityProofError(
                ProofFailure.CONTEXT_MISMATCH, "proof @context differs from the document @context"
            )

    try:
        hash_data = proof_hash_data(parsed.options, unsecured)
    except MalformedDocument as exc:
        raise IntegrityProofError(ProofFailure.MALFORMED_DOCUMENT, str(exc)) from exc
    return _verified(parsed, public_key, hash_data)


def _check_purpose(parsed: _ParsedProof, expected_purpose: str | None) -> None:
    """``expected_purpose=None`` accepts any ``proofPurpose``."""
    if expected_purpose is not None and parsed.proof_purpose != expected_purpose:
        raise IntegrityProofError(
            ProofFailure.PURPOSE_MISMATCH,
            f"proofPurpose is {parsed.proof_purpose!r}, expected {expected_purpose!r}",
        )


def _verified(
    parsed: _ParsedProof, public_key: Ed25519PublicKey, hash_data: bytes
) -> VerifiedProof:
    """The signature over ``hash_data`` checked: the proof as verified, or the failure."""
    try:
        public_key.verify(parsed.signature, hash_data)
    except InvalidSignature as exc:
        raise IntegrityProofError(
            ProofFailure.INVALID,
            f"signature does not verify with the key for {parsed.verification_method}",
        ) from exc
    return VerifiedProof(
        parsed.verification_method, parsed.created, parsed.proof_purpose, parsed.expires
    )
