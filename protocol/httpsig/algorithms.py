"""Signing algorithms: which one a key implies, whether a key fits one, and the raw operations.

Only RSA (PKCS#1 v1.5 SHA-256, PSS SHA-512) and Ed25519 are accepted; HMAC and ECDSA vectors are
valid RFC 9421 but not something a fediverse peer uses, so they are refused, not half-supported.
"""

from __future__ import annotations

from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from protocol.errors import SignatureError, SignatureFailure
from protocol.keys import PrivateKey, PublicKey

RSA_V1_5_SHA256: Final = "rsa-v1_5-sha256"
RSA_PSS_SHA512: Final = "rsa-pss-sha512"
ED25519: Final = "ed25519"
RFC9421_ALGORITHMS: Final = frozenset({RSA_V1_5_SHA256, RSA_PSS_SHA512, ED25519})
_PSS_SALT_LENGTH: Final = 64  # RFC 9421 §3.3.1


def algorithm_for_key(key: PublicKey | PrivateKey) -> str:
    """RFC 9421 §3.2 lets the key decide; RSA means PKCS#1 v1.5 (what Mastodon does)."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return RSA_V1_5_SHA256
    return ED25519


def check_key_type(algorithm: str, key: PublicKey | PrivateKey) -> None:
    """Refuse an algorithm the key cannot produce, before any cryptography runs."""
    is_rsa = isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey)
    if is_rsa != (algorithm != ED25519):
        raise SignatureError(
            SignatureFailure.KEY_TYPE_MISMATCH,
            f"algorithm {algorithm} does not fit a {'RSA' if is_rsa else 'Ed25519'} key",
        )


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=_PSS_SALT_LENGTH)


def verify_bytes(algorithm: str, key: PublicKey, signature: bytes, message: bytes) -> None:
    """Check ``signature`` over ``message``; a mismatch is ``INVALID``, whatever its cause."""
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        elif algorithm == RSA_PSS_SHA512:
            key.verify(signature, message, _pss(), hashes.SHA512())
        else:
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise SignatureError(SignatureFailure.INVALID, "signature does not verify") from exc


def sign_bytes(algorithm: str, key: PrivateKey, message: bytes) -> bytes:
    """Sign ``message`` with ``key`` under ``algorithm`` (already checked to fit the key)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    if algorithm == RSA_PSS_SHA512:
        return key.sign(message, _pss(), hashes.SHA512())
    return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
