"""Body digests: legacy ``Digest`` (RFC 3230, what draft-cavage peers send) and RFC 9530
``Content-Digest`` (what RFC 9421 peers send).

A signature only covers the digest header, so the header must also match the body for the
signature to say anything about the body; these functions make that second check.
``Content-Digest`` is an RFC 9651 dictionary and goes through http-sf; the legacy ``Digest``
(``alg=base64`` pairs, whose base64 is not a structured-field value) is split by hand.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from typing import Final

import http_sf
from http_sf.types import DictionaryType

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
    digest: DictionaryType = {name: _HASHES[name](body)}
    return http_sf.ser(digest)


def _refuse_repeated_algorithm(key: str, context: str) -> None:
    # RFC 9651 lets the last member win; a repeated algorithm would hide one of two values.
    # Repeated parameters are let through: digests give parameters no meaning.
    if context == "dictionary":
        raise SignatureError(SignatureFailure.MALFORMED, f"Content-Digest repeats {key!r}")


def _content_digest_entries(header: str) -> list[tuple[str, bytes]]:
    if not header.isascii():
        raise SignatureError(SignatureFailure.MALFORMED, "Content-Digest is not ASCII")
    try:
        members = http_sf.parse(
            header.encode("ascii"), tltype="dictionary", on_duplicate_key=_refuse_repeated_algorithm
        )
    except ValueError as exc:  # http_sf.StructuredFieldError is a ValueError
        raise SignatureError(
            SignatureFailure.MALFORMED, f"Content-Digest is not a structured dictionary: {exc}"
        ) from exc
    if not isinstance(members, dict) or not members:
        raise SignatureError(SignatureFailure.MALFORMED, "Content-Digest is empty")
    entries: list[tuple[str, bytes]] = []
    for key, member in members.items():
        value = member[0] if isinstance(member, tuple) else member  # parameters carry no meaning
        if not isinstance(value, bytes):
            raise SignatureError(
                SignatureFailure.MALFORMED, "Content-Digest member is not 'alg=:base64:'"
            )
        entries.append((key, value))
    return entries


def verify_content_digest(header: str, body: bytes) -> None:
    """Check a ``Content-Digest`` dictionary of byte sequences against the body."""
    _check(_content_digest_entries(header), body, "Content-Digest")
