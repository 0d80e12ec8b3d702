"""Body digests: legacy ``Digest`` (RFC 3230, what draft-cavage peers send) and RFC 9530
``Content-Digest`` (what RFC 9421 peers send).

A signature only covers the digest header, so the header must also match the body for the
signature to say anything about the body; these functions make that second check.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from typing import Final

from protocol.errors import DigestMismatch, SignatureError, SignatureFailure

_HASHES: Final[dict[str, Callable[[bytes], bytes]]] = {
    "sha-256": lambda body: hashlib.sha256(body).digest(),
    "sha-512": lambda body: hashlib.sha512(body).digest(),
}


def _b64decode(value: str, header: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError(
            SignatureFailure.MALFORMED, f"{header} value is not valid base64"
        ) from exc


def _check(entries: list[tuple[str, bytes]], body: bytes, header: str) -> None:
    supported = [(alg, value) for alg, value in entries if alg in _HASHES]
    if not supported:
        raise SignatureError(
            SignatureFailure.DIGEST_MISSING, f"{header} has no supported algorithm (sha-256/512)"
        )
    for alg, expected in supported:
        if not hmac.compare_digest(_HASHES[alg](body), expected):
            raise DigestMismatch(f"{header} {alg} does not match the body")


def make_digest(body: bytes) -> str:
    """``Digest: SHA-256=<base64>`` for an outgoing body."""
    return "SHA-256=" + base64.b64encode(_HASHES["sha-256"](body)).decode("ascii")


def verify_digest(header: str, body: bytes) -> None:
    """Check a ``Digest`` header (``alg=b64`` list); every supported entry must match the body.

    Unknown algorithms (e.g. MD5) are ignored; if none is left the header proves nothing.
    """
    entries: list[tuple[str, bytes]] = []
    for part in header.split(","):
        item = part.strip()
        if not item:
            continue
        alg, sep, value = item.partition("=")
        if not sep or not alg.strip():
            raise SignatureError(SignatureFailure.MALFORMED, "Digest entry lacks 'alg=value'")
        name = alg.strip().lower()
        if name in _HASHES:
            entries.append((name, _b64decode(value.strip(), "Digest")))
        else:
            entries.append((name, b""))
    if not entries:
        raise SignatureError(SignatureFailure.MALFORMED, "Digest header is empty")
    _check(entries, body, "Digest")


def make_content_digest(body: bytes, algorithm: str = "sha-256") -> str:
    """``Content-Digest`` in RFC 9530 structured-field form, e.g. ``sha-256=:<base64>:``."""
    name = algorithm.lower()
    if name not in _HASHES:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}")
    return f"{name}=:" + base64.b64encode(_HASHES[name](body)).decode("ascii") + ":"


def verify_content_digest(header: str, body: bytes) -> None:
    """Check a ``Content-Digest`` dictionary of byte sequences against the body."""
    entries: list[tuple[str, bytes]] = []
    for part in header.split(","):
        item = part.strip(" \t")
        if not item:
            raise SignatureError(SignatureFailure.MALFORMED, "Content-Digest has an empty member")
        key, sep, rest = item.partition("=")
        value = rest.split(";", 1)[0]  # parameters carry no meaning for digests
        if not sep or not key or len(value) < 2 or value[0] != ":" or value[-1] != ":":
            raise SignatureError(
                SignatureFailure.MALFORMED, "Content-Digest member is not 'alg=:base64:'"
            )
        entries.append((key.lower(), _b64decode(value[1:-1], "Content-Digest")))
    _check(entries, body, "Content-Digest")
