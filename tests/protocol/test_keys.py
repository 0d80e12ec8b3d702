import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from protocol.errors import MalformedDocument
from protocol.keys import (
    bytes_to_multibase,
    ed25519_private_from_multibase,
    ed25519_private_to_multibase,
    ed25519_public_from_multibase,
    ed25519_public_to_multibase,
    generate_ed25519_key,
    generate_rsa_key,
    multibase_to_bytes,
    private_key_from_pem,
    private_key_to_pem,
    public_key_from_pem,
    public_key_to_pem,
)
from tests.vectors import VECTORS

RFC_KEYS = VECTORS / "rfc9421" / "keys"


def _raw_public(key: ed25519.Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return generate_rsa_key()


def test_generate_rsa_key_sizes(rsa_key):
    assert rsa_key.key_size == 2048
    assert rsa_key.public_key().public_numbers().e == 65537
    with pytest.raises(ValueError):
        generate_rsa_key(1024)
    with pytest.raises(ValueError):
        generate_rsa_key(8192)


def test_rsa_pem_round_trip(rsa_key):
    pem = private_key_to_pem(rsa_key)
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted
    loaded = private_key_from_pem(pem)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert loaded.private_numbers() == rsa_key.private_numbers()
    public_pem = public_key_to_pem(rsa_key.public_key())
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")  # SubjectPublicKeyInfo
    assert public_key_from_pem(public_pem.encode()) == rsa_key.public_key()


def test_ed25519_pem_round_trip():
    key = generate_ed25519_key()
    loaded = private_key_from_pem(private_key_to_pem(key))
    assert isinstance(loaded, ed25519.Ed25519PrivateKey)
    public = public_key_from_pem(public_key_to_pem(key.public_key()))
    assert isinstance(public, ed25519.Ed25519PublicKey)
    assert _raw_public(public) == _raw_public(key.public_key())


def test_loads_spec_keys():
    # PKCS#1 "RSA PUBLIC KEY" and PKCS#1 private keys load too (RFC 9421 B.1.1, Mastodon spec).
    assert isinstance(
        public_key_from_pem((RFC_KEYS / "test-key-rsa.pub.pem").read_text()), rsa.RSAPublicKey
    )
    assert isinstance(
        private_key_from_pem((RFC_KEYS / "test-key-rsa.priv.pem").read_text()), rsa.RSAPrivateKey
    )
    # B.1.2's private key is PKCS#8 with the id-RSASSA-PSS OID; it still loads as RSA.
    assert isinstance(
        private_key_from_pem((RFC_KEYS / "test-key-rsa-pss.priv.pem").read_bytes()),
        rsa.RSAPrivateKey,
    )
    mastodon = private_key_from_pem((VECTORS / "mastodon" / "spec-actor-keypair.pem").read_text())
    assert isinstance(mastodon, rsa.RSAPrivateKey)
    assert mastodon.key_size == 2048


def test_ed25519_pem_matches_jwk():
    jwk = json.loads((RFC_KEYS / "test-key-ed25519.jwk.json").read_text())
    public = public_key_from_pem((RFC_KEYS / "test-key-ed25519.pub.pem").read_text())
    assert isinstance(public, ed25519.Ed25519PublicKey)
    assert _raw_public(public) == base64.urlsafe_b64decode(jwk["x"] + "=")


def test_rsa_size_limits():
    small = (VECTORS / "cavage-12" / "test-key-Test.pub.pem").read_text()
    with pytest.raises(MalformedDocument, match="1024"):
        public_key_from_pem(small)
    key = public_key_from_pem(small, min_rsa_bits=1024)
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == 1024
    with pytest.raises(MalformedDocument):
        private_key_from_pem((VECTORS / "cavage-12" / "test-key-Test.priv.pem").read_text())
    private = private_key_from_pem(
        (VECTORS / "cavage-12" / "test-key-Test.priv.pem").read_text(), min_rsa_bits=1024
    )
    assert isinstance(private, rsa.RSAPrivateKey)
    # Keys above the maximum are refused as well (limit lowered so no huge key is generated).
    with pytest.raises(MalformedDocument):
        public_key_from_pem((RFC_KEYS / "test-key-rsa.pub.pem").read_text(), max_rsa_bits=1024)


@pytest.mark.parametrize(
    "pem",
    [
        "",
        "not a key",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
        "clé",
        b"\x00\x01",
    ],
)
def test_public_key_from_pem_rejects_garbage(pem):
    with pytest.raises(MalformedDocument):
        public_key_from_pem(pem)
    with pytest.raises(MalformedDocument):
        private_key_from_pem(pem)


def test_unsupported_key_types_are_refused():
    with pytest.raises(MalformedDocument, match="unsupported"):
        public_key_from_pem((RFC_KEYS / "test-key-ecc-p256.pub.pem").read_text())
    with pytest.raises(MalformedDocument, match="unsupported"):
        private_key_from_pem((RFC_KEYS / "test-key-ecc-p256.priv.pem").read_text())


@pytest.mark.parametrize(
    ("data", "encoded"),
    [
        (b"", "z"),
        (b"Hello World!", "z2NEpo7TZRRrLZSi2U"),
        (
            b"The quick brown fox jumps over the lazy dog.",
            "zUSm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z",
        ),
        (bytes.fromhex("0000287fb4cd"), "z11233QC4"),
        (b"\x00", "z1"),
    ],
)
def test_base58btc_vectors(data, encoded):
    assert bytes_to_multibase(data) == encoded
    assert multibase_to_bytes(encoded) == data


def test_multikey_round_trips_with_vc_di_eddsa_key_pair():
    pair = json.loads((VECTORS / "vc-di-eddsa" / "keyPair.json").read_text())
    private = ed25519_private_from_multibase(pair["privateKeyMultibase"])
    assert ed25519_public_to_multibase(private.public_key()) == pair["publicKeyMultibase"]
    assert ed25519_private_to_multibase(private) == pair["privateKeyMultibase"]
    public = ed25519_public_from_multibase(pair["publicKeyMultibase"])
    assert _raw_public(public) == _raw_public(private.public_key())
    assert ed25519_public_to_multibase(public) == pair["publicKeyMultibase"]


def test_multikey_matches_fep_8b32_actor():
    actor = json.loads((VECTORS / "fep-8b32" / "actor.json").read_text())
    params = json.loads((VECTORS / "fep-8b32" / "signing-params.json").read_text())
    value = actor["assertionMethod"][0]["publicKeyMultibase"]
    assert value.startswith("z6Mk")
    public = ed25519_public_from_multibase(value)
    assert ed25519_public_to_multibase(public) == value
    secret = ed25519_private_from_multibase(params["secretKeyMultibase"])
    assert ed25519_public_to_multibase(secret.public_key()) == value


def test_generated_multikey_starts_with_z6mk():
    key = generate_ed25519_key().public_key()
    value = ed25519_public_to_multibase(key)
    assert value.startswith("z6Mk")
    assert _raw_public(ed25519_public_from_multibase(value)) == _raw_public(key)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "f" + "00" * 34,  # base16 multibase: not accepted
        "z6Mk0OIl",  # characters outside the base58 alphabet
        "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq",  # a private key, wrong codec
        bytes_to_multibase(b"\xed\x01" + b"\x01" * 31),  # too short
        bytes_to_multibase(b"\xed\x01" + b"\x01" * 33),  # too long
        bytes_to_multibase(b"\xec\x01" + b"\x01" * 32),  # x25519, not ed25519
        "z" * 5000,
    ],
)
def test_ed25519_public_from_multibase_rejects(value):
    with pytest.raises(MalformedDocument):
        ed25519_public_from_multibase(value)
