"""Object integrity proofs (FEP-8b32, eddsa-jcs-2022) against the W3C vc-di-eddsa vectors and the
FEP-8b32 test vector, plus negative cases and round trips with fresh keys."""

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType

import pytest

from protocol.errors import MalformedDocument, ProofError
from protocol.keys import (
    bytes_to_multibase,
    ed25519_private_from_multibase,
    ed25519_public_from_multibase,
    generate_ed25519_key,
    multibase_to_bytes,
)
from protocol.proofs import (
    IntegrityProofError,
    ProofFailure,
    VerifiedProof,
    canonical_json,
    controller_of,
    create_proof,
    jcs_sha256,
    proof_hash_data,
    proof_verification_method,
    strip_proof,
    verify_proof,
)
from protocol.timefmt import parse_xsd_datetime
from tests.vectors import VECTORS

VC = VECTORS / "vc-di-eddsa"
JCS = VC / "eddsa-jcs-2022"
FEP = VECTORS / "fep-8b32"

CREATED = datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)
#: When these tests verify: after every proof they make (expiry and clock skew: test_proof_time.py).
AT = datetime(2027, 4, 12, 12, 0, tzinfo=UTC)
VC_METHOD = (
    "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    "#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
)


def _json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _text(path):
    return path.read_text(encoding="utf-8").strip()


def _fails(reason, document, key, **kwargs):
    with pytest.raises(IntegrityProofError) as info:
        verify_proof(document, key, **{"now": AT, **kwargs})
    assert info.value.reason is reason, info.value
    assert isinstance(info.value, ProofError)
    return info.value


@pytest.fixture(scope="module")
def vc_keys():
    pair = _json(VC / "keyPair.json")
    private = ed25519_private_from_multibase(pair["privateKeyMultibase"])
    public = ed25519_public_from_multibase(pair["publicKeyMultibase"])
    return private, public


@pytest.fixture(scope="module")
def fep_actor_key():
    actor = _json(FEP / "actor.json")
    (method,) = actor["assertionMethod"]
    return ed25519_public_from_multibase(method["publicKeyMultibase"])


@pytest.fixture(scope="module")
def fep_signing():
    params = _json(FEP / "signing-params.json")
    return (
        ed25519_private_from_multibase(params["secretKeyMultibase"]),
        params["verificationMethod"],
        parse_xsd_datetime(params["currentTime"]),
    )


# --- W3C vc-di-eddsa, eddsa-jcs-2022 -----------------------------------------------------------


def test_vc_key_pair_matches(vc_keys):
    private, public = vc_keys
    assert private.public_key() == public


def test_vc_canonical_document_and_hash():
    unsigned = _json(VC / "unsigned.json")
    canonical = canonical_json(unsigned)
    assert canonical == _text(JCS / "canonDocJCS.txt").encode("utf-8")
    assert hashlib.sha256(canonical).hexdigest() == _text(JCS / "docHashJCS.txt")
    assert jcs_sha256(unsigned) == _text(JCS / "docHashJCS.txt")


def test_vc_canonical_proof_config_and_hashes():
    config = _json(JCS / "proofConfigJCS.json")
    canonical = canonical_json(config)
    assert canonical == _text(JCS / "proofCanonJCS.txt").encode("utf-8")
    assert hashlib.sha256(canonical).hexdigest() == _text(JCS / "proofHashJCS.txt")
    combined = proof_hash_data(config, _json(VC / "unsigned.json"))
    assert combined.hex() == _text(JCS / "combinedHashJCS.txt")


def test_vc_create_proof_reproduces_signed_vector(vc_keys):
    private, _ = vc_keys
    signed = create_proof(
        _json(VC / "unsigned.json"), private, verification_method=VC_METHOD, created=CREATED
    )
    expected = _json(JCS / "signedJCS.json")
    assert signed == expected
    proof = signed["proof"]
    config = {name: value for name, value in proof.items() if name != "proofValue"}
    assert canonical_json(config) == _text(JCS / "proofCanonJCS.txt").encode("utf-8")
    assert proof["proofValue"] == _text(JCS / "sigBTC58JCS.txt")
    signature = multibase_to_bytes(proof["proofValue"])
    assert signature.hex() == _text(JCS / "sigHexJCS.txt")
    assert bytes_to_multibase(bytes.fromhex(_text(JCS / "sigHexJCS.txt"))) == proof["proofValue"]


def test_vc_signed_vector_verifies(vc_keys):
    _, public = vc_keys
    result = verify_proof(_json(JCS / "signedJCS.json"), public, now=AT)
    assert result == VerifiedProof(
        verification_method=VC_METHOD, created=CREATED, proof_purpose="assertionMethod"
    )
    assert proof_verification_method(_json(JCS / "signedJCS.json")) == VC_METHOD


def test_vc_signed_vector_tampered_fails(vc_keys):
    _, public = vc_keys
    signed = _json(JCS / "signedJCS.json")
    signed["credentialSubject"]["alumniOf"] = "The School of Counterexamples"
    _fails(ProofFailure.INVALID, signed, public)


def test_vc_signed_vector_tampered_proof_options_fail(vc_keys):
    _, public = vc_keys
    signed = _json(JCS / "signedJCS.json")
    signed["proof"]["created"] = "2023-02-24T23:36:39Z"
    _fails(ProofFailure.INVALID, signed, public)


def test_vc_verification_is_independent_of_serialisation(vc_keys):
    _, public = vc_keys
    signed = _json(JCS / "signedJCS.json")
    reordered = json.loads(json.dumps(dict(reversed(list(signed.items()))), ensure_ascii=True))
    assert verify_proof(reordered, public, now=AT).verification_method == VC_METHOD


# --- FEP-8b32 ----------------------------------------------------------------------------------


def test_fep_resigning_reproduces_proof_value(fep_signing):
    key, method, created = fep_signing
    signed = create_proof(
        _json(FEP / "unsigned-create.json"), key, verification_method=method, created=created
    )
    expected = _json(FEP / "signed-create.json")
    assert signed["proof"]["proofValue"] == expected["proof"]["proofValue"]
    assert signed == expected


def test_fep_signed_create_verifies_with_actor_multikey(fep_actor_key):
    signed = _json(FEP / "signed-create.json")
    actor = _json(FEP / "actor.json")
    method = proof_verification_method(signed)
    (key_doc,) = actor["assertionMethod"]
    assert method == key_doc["id"]
    assert controller_of(method) == actor["id"] == key_doc["controller"] == signed["actor"]
    result = verify_proof(signed, fep_actor_key, now=AT)
    assert result.verification_method == method
    assert result.created == CREATED
    assert result.proof_purpose == "assertionMethod"


def test_fep_relay_reserialisation_still_verifies(fep_actor_key):
    text = (FEP / "signed-create.json").read_text(encoding="utf-8")
    relayed = json.loads(json.dumps(json.loads(text), separators=(",", ":"), sort_keys=True))
    verify_proof(relayed, fep_actor_key, now=AT)


def test_fep_tampered_content_fails(fep_actor_key):
    signed = _json(FEP / "signed-create.json")
    signed["object"]["content"] = "Hello world!"
    _fails(ProofFailure.INVALID, signed, fep_actor_key)


def test_fep_tampered_number_fails(fep_actor_key):
    signed = _json(FEP / "signed-create.json")
    signed["object"]["location"]["latitude"] = 25.273963
    _fails(ProofFailure.INVALID, signed, fep_actor_key)


def test_fep_added_field_fails(fep_actor_key):
    signed = _json(FEP / "signed-create.json")
    signed["to"] = ["https://www.w3.org/ns/activitystreams#Public"]
    _fails(ProofFailure.INVALID, signed, fep_actor_key)


def test_fep_swapped_actor_fails(fep_actor_key):
    signed = _json(FEP / "signed-create.json")
    signed["actor"] = "https://server.example/users/mallory"
    _fails(ProofFailure.INVALID, signed, fep_actor_key)


def test_fep_swapped_verification_method_fails(fep_actor_key):
    signed = _json(FEP / "signed-create.json")
    signed["proof"]["verificationMethod"] = "https://server.example/users/mallory#ed25519-key"
    _fails(ProofFailure.INVALID, signed, fep_actor_key)


def test_fep_wrong_key_fails():
    signed = _json(FEP / "signed-create.json")
    error = _fails(ProofFailure.INVALID, signed, generate_ed25519_key().public_key())
    assert "https://server.example/users/alice#ed25519-key" in str(error)


def test_fep_missing_proof_fails(fep_actor_key):
    _fails(ProofFailure.NO_PROOF, _json(FEP / "unsigned-create.json"), fep_actor_key)
    with pytest.raises(IntegrityProofError) as info:
        proof_verification_method(_json(FEP / "unsigned-create.json"))
    assert info.value.reason is ProofFailure.NO_PROOF


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cryptosuite", "eddsa-rdfc-2022"),
        ("cryptosuite", "ecdsa-jcs-2019"),
        ("type", "Ed25519Signature2020"),
        ("type", ["DataIntegrityProof"]),
    ],
)
def test_unsupported_proof_kinds_fail(fep_actor_key, field, value):
    signed = _json(FEP / "signed-create.json")
    signed["proof"][field] = value
    error = _fails(ProofFailure.UNSUPPORTED, signed, fep_actor_key)
    assert field in str(error) or "type" in str(error)
    with pytest.raises(IntegrityProofError) as info:
        proof_verification_method(signed)
    assert info.value.reason is ProofFailure.UNSUPPORTED


@pytest.mark.parametrize(
    "proof_value",
    [
        "not base58 at all!",
        "u" + "A" * 86,  # base64url multibase, not base58btc
        "z0OIl",  # characters outside the base58 alphabet
        "z",  # empty
        "z" + "2" * 40,  # valid base58, wrong length
        "z" + "2" * 200,  # valid base58, far too long
        "",
        12345,
        None,
        [
            "z42ffGu6AUKPCFcFPiabmUvnGLPJzC7e4DGWC52NUasSSH37UMa9c58tdgVszUcZfytxa4fQ5TYHaJENCxUDe9SdL"
        ],
    ],
)
def test_garbage_proof_value_fails(fep_actor_key, proof_value):
    signed = _json(FEP / "signed-create.json")
    signed["proof"]["proofValue"] = proof_value
    _fails(ProofFailure.MALFORMED, signed, fep_actor_key)


def test_missing_proof_value_fails(fep_actor_key):
    signed = _json(FEP / "signed-create.json")
    del signed["proof"]["proofValue"]
    error = _fails(ProofFailure.MALFORMED, signed, fep_actor_key)
    assert "proofValue" in str(error)


def test_valid_length_but_wrong_signature_fails(fep_actor_key):
    signed = _json(FEP / "signed-create.json")
    signature = bytearray(multibase_to_bytes(signed["proof"]["proofValue"]))
    signature[10] ^= 0x01
    signed["proof"]["proofValue"] = bytes_to_multibase(bytes(signature))
    _fails(ProofFailure.INVALID, signed, fep_actor_key)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("verificationMethod", None),
        ("verificationMethod", ""),
        ("verificationMethod", {"id": "https://server.example/users/alice#ed25519-key"}),
        ("proofPurpose", None),
        ("proofPurpose", 7),
        ("created", "yesterday"),
        ("created", "2023-02-24T23:36:38"),  # no zone
        ("created", 1677281798),
    ],
)
def test_malformed_proof_fields_fail(fep_actor_key, field, value):
    signed = _json(FEP / "signed-create.json")
    if value is None:
        del signed["proof"][field]
    else:
        signed["proof"][field] = value
    error = _fails(ProofFailure.MALFORMED, signed, fep_actor_key)
    assert field in str(error)


@pytest.mark.parametrize("proof", ["z42ffGu6", 42, None, [1]])
def test_proof_not_an_object_fails(fep_actor_key, proof):
    signed = _json(FEP / "signed-create.json")
    signed["proof"] = proof
    _fails(ProofFailure.MALFORMED, signed, fep_actor_key)


def test_context_mismatch_fails(fep_actor_key):
    signed = _json(FEP / "signed-create.json")
    signed["@context"] = [*signed["@context"], "https://evil.example/context"]
    _fails(ProofFailure.CONTEXT_MISMATCH, signed, fep_actor_key)

    signed = _json(FEP / "signed-create.json")
    signed["proof"]["@context"] = ["https://www.w3.org/ns/activitystreams"]
    _fails(ProofFailure.CONTEXT_MISMATCH, signed, fep_actor_key)

    signed = _json(FEP / "signed-create.json")
    del signed["@context"]
    _fails(ProofFailure.CONTEXT_MISMATCH, signed, fep_actor_key)


def test_proof_without_context_is_checked_by_signature(fep_signing):
    key, method, created = fep_signing
    signed = create_proof(
        _json(FEP / "unsigned-create.json"), key, verification_method=method, created=created
    )
    del signed["proof"]["@context"]  # hashed config changes, so the signature no longer matches
    _fails(ProofFailure.INVALID, signed, key.public_key())


def test_purpose_mismatch_fails(fep_signing):
    key, method, created = fep_signing
    signed = create_proof(
        _json(FEP / "unsigned-create.json"),
        key,
        verification_method=method,
        created=created,
        proof_purpose="authentication",
    )
    _fails(ProofFailure.PURPOSE_MISMATCH, signed, key.public_key())
    result = verify_proof(signed, key.public_key(), expected_purpose="authentication", now=AT)
    assert result.proof_purpose == "authentication"
    assert verify_proof(signed, key.public_key(), expected_purpose=None, now=AT) == result


def test_single_element_proof_list_verifies_but_proof_sets_are_refused(fep_actor_key):
    signed = _json(FEP / "signed-create.json")
    signed["proof"] = [signed["proof"]]
    assert verify_proof(signed, fep_actor_key, now=AT).created == CREATED
    signed["proof"] = [signed["proof"][0], signed["proof"][0]]
    _fails(ProofFailure.UNSUPPORTED, signed, fep_actor_key)
    signed["proof"] = []
    _fails(ProofFailure.NO_PROOF, signed, fep_actor_key)


# --- round trips and helpers -------------------------------------------------------------------


def _note():
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", {"ch": "https://w3id.org/ch#"}],
        "id": "https://a.example/reports/1",
        "type": "Note",
        "attributedTo": "https://a.example/actors/chapter",
        "content": 'Ünïcödé \u2028 <b>bold</b> \U0001f600 "quoted"',
        "ch:count": 12,
        "ch:ratio": 0.1,
        "ch:big": 9007199254740991,
        "ch:flags": [True, False, None],
        "ch:nested": {"b": [1, 2, {"z": 1, "a": 2}], "a": {}},
    }


def test_round_trip_with_fresh_key():
    key = generate_ed25519_key()
    note = _note()
    original = copy.deepcopy(note)
    created = datetime(2027, 4, 12, 9, 0, 0, 123456, tzinfo=UTC)
    signed = create_proof(
        note,
        key,
        verification_method="https://a.example/actors/chapter#ed25519-key",
        created=created,
    )
    assert note == original  # input untouched
    assert strip_proof(signed) == original
    proof = signed["proof"]
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == "eddsa-jcs-2022"
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["created"] == "2027-04-12T09:00:00.123456Z"
    assert proof["@context"] == note["@context"]
    assert proof["proofValue"].startswith("z")
    assert len(multibase_to_bytes(proof["proofValue"])) == 64

    result = verify_proof(signed, key.public_key(), now=AT)
    assert result.verification_method == "https://a.example/actors/chapter#ed25519-key"
    assert result.created == created
    assert controller_of(result.verification_method) == signed["attributedTo"]

    wire = json.loads(json.dumps(signed, ensure_ascii=False, indent=2))
    assert verify_proof(wire, key.public_key(), now=AT) == result
    _fails(ProofFailure.INVALID, signed, generate_ed25519_key().public_key())


def test_round_trip_without_context():
    key = generate_ed25519_key()
    document = {"id": "https://a.example/x", "type": "Thing"}
    signed = create_proof(
        document, key, verification_method="https://a.example/k#1", created=CREATED
    )
    assert "@context" not in signed["proof"]
    assert verify_proof(signed, key.public_key(), now=AT).created == CREATED


def test_created_offset_is_normalised_to_utc():
    key = generate_ed25519_key()
    created = datetime(2027, 4, 12, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    signed = create_proof(
        _note(), key, verification_method="https://a.example/k#1", created=created
    )
    assert signed["proof"]["created"] == "2027-04-12T09:00:00Z"
    assert verify_proof(signed, key.public_key(), now=AT).created == created


def test_created_is_optional_on_verification():
    key = generate_ed25519_key()
    unsecured = _note()
    config = {
        "@context": unsecured["@context"],
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "verificationMethod": "https://a.example/k#1",
        "proofPurpose": "assertionMethod",
    }
    signature = key.sign(proof_hash_data(config, unsecured))
    signed = {**unsecured, "proof": {**config, "proofValue": bytes_to_multibase(signature)}}
    assert verify_proof(signed, key.public_key(), now=AT).created is None


def test_create_accepts_any_mapping():
    key = generate_ed25519_key()
    frozen = MappingProxyType({"id": "https://a.example/x", "tag": ("a", "b")})
    signed = create_proof(frozen, key, verification_method="https://a.example/k#1", created=CREATED)
    assert signed["tag"] == ["a", "b"]
    assert type(signed) is dict
    verify_proof(frozen | {"proof": signed["proof"]}, key.public_key(), now=AT)


def test_create_refuses_already_proven_document(fep_signing):
    key, method, created = fep_signing
    with pytest.raises(IntegrityProofError) as info:
        create_proof(
            _json(FEP / "signed-create.json"), key, verification_method=method, created=created
        )
    assert info.value.reason is ProofFailure.ALREADY_PROVEN


def test_create_refuses_naive_datetime_and_empty_method():
    key = generate_ed25519_key()
    with pytest.raises(ValueError):
        naive = datetime(2027, 1, 1)  # noqa: DTZ001
        create_proof(_note(), key, verification_method="https://a.example/k#1", created=naive)
    with pytest.raises(ValueError):
        create_proof(_note(), key, verification_method="", created=CREATED)


@pytest.mark.parametrize(
    "bad",
    [2**53, -(2**53), float("nan"), float("inf"), b"bytes", {1: "x"}, {"x": {1, 2}}, "\ud800"],
)
def test_non_json_documents_are_refused(bad):
    key = generate_ed25519_key()
    document = {"id": "https://a.example/x", "value": bad}
    with pytest.raises(IntegrityProofError) as info:
        create_proof(document, key, verification_method="https://a.example/k#1", created=CREATED)
    assert info.value.reason is ProofFailure.MALFORMED_DOCUMENT
    with pytest.raises(MalformedDocument):
        jcs_sha256(document)


def test_non_json_document_on_verification(fep_actor_key):
    signed = _json(FEP / "signed-create.json")
    signed["object"]["big"] = 2**60
    _fails(ProofFailure.MALFORMED_DOCUMENT, signed, fep_actor_key)


def test_too_deep_document_is_refused():
    deep: dict[str, object] = {}
    cursor = deep
    for _ in range(300):
        cursor["x"] = {}
        cursor = cursor["x"]  # type: ignore[assignment]
    with pytest.raises(MalformedDocument):
        jcs_sha256(deep)


def test_jcs_sha256_pins_the_published_document(fep_signing):
    signed = _json(FEP / "signed-create.json")
    unsigned = _json(FEP / "unsigned-create.json")
    digest = jcs_sha256(signed)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest != jcs_sha256(unsigned)  # the proof is part of the pinned version
    assert jcs_sha256(strip_proof(signed)) == jcs_sha256(unsigned)
    assert jcs_sha256(json.loads(json.dumps(signed, sort_keys=True, indent=4))) == digest
    signed["object"]["content"] = "Hello world!"
    assert jcs_sha256(signed) != digest


def test_strip_proof_copies():
    signed = _json(FEP / "signed-create.json")
    stripped = strip_proof(signed)
    assert "proof" not in stripped
    assert "proof" in signed
    stripped["object"]["content"] = "changed"
    assert signed["object"]["content"] == "Hello world"
    assert strip_proof(_json(FEP / "unsigned-create.json")) == _json(FEP / "unsigned-create.json")


@pytest.mark.parametrize(
    ("method", "controller"),
    [
        ("https://server.example/users/alice#ed25519-key", "https://server.example/users/alice"),
        ("https://a.example/actors/x#main-key#extra", "https://a.example/actors/x"),
        ("https://a.example/keys/1", "https://a.example/keys/1"),
        (VC_METHOD, "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"),
    ],
)
def test_controller_of(method, controller):
    assert controller_of(method) == controller


@pytest.mark.parametrize("method", ["", "#ed25519-key"])
def test_controller_of_refuses_empty(method):
    with pytest.raises(ProofError):
        controller_of(method)


def test_verified_proof_is_frozen():
    result = VerifiedProof("https://a.example/k#1", None, "assertionMethod")
    with pytest.raises(AttributeError):
        result.proof_purpose = "x"  # type: ignore[misc]
    assert not hasattr(result, "__dict__")
