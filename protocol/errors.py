"""Errors raised by the pure protocol layer.

Every failure is data: callers map these to HTTP statuses (node/middlewares) without
string-matching. ``reason`` values are stable identifiers meant for logs and clients.
"""

from __future__ import annotations

from enum import StrEnum


class ChapterhouseError(Exception):
    """Root of every error Chapterhouse raises on purpose (``node`` and ``protocol``).

    It lives here, in the lowest layer that the node may import, so that every family can
    derive from it. Anything that is not a ``ChapterhouseError`` is a programming error: the CLI
    lets those show a traceback, and the HTTP middleware answers them with a bare 500."""


class ProtocolError(ChapterhouseError):
    """Root of every error the protocol layer raises."""


class MalformedDocument(ProtocolError):
    """A document or header cannot be understood (wrong shape, missing field, bad value)."""


class UnsupportedType(ProtocolError):
    """A well-formed document whose type this node does not handle."""


class SignatureFailure(StrEnum):
    """Why an HTTP signature was refused."""

    NO_SIGNATURE = "no_signature"
    MALFORMED = "malformed_signature"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    MISSING_COMPONENT = "missing_component"
    EXPIRED = "expired"
    DIGEST_MISSING = "digest_missing"
    DIGEST_MISMATCH = "digest_mismatch"
    KEY_FETCH_FAILED = "key_fetch_failed"
    KEY_TYPE_MISMATCH = "key_type_mismatch"
    INVALID = "invalid_signature"
    #: More than one signature (several RFC 9421 labels, or two schemes): exactly one is checked.
    MULTIPLE_SIGNATURES = "multiple_signatures"
    #: The key's actor replaced it with another key (an actor ``Update`` or a refetch).
    KEY_SUPERSEDED = "key_superseded"


class SignatureError(ProtocolError):
    """An HTTP signature could not be verified; ``reason`` says why, ``key_id`` says whose."""

    def __init__(self, reason: SignatureFailure, detail: str, key_id: str | None = None) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
        self.key_id = key_id


class DigestMismatch(SignatureError):
    """The body does not match its ``Digest`` / ``Content-Digest`` header."""

    def __init__(self, detail: str) -> None:
        super().__init__(SignatureFailure.DIGEST_MISMATCH, detail)


class ProofError(ProtocolError):
    """An object integrity proof is missing, malformed or does not verify."""


class AuthorityError(ProtocolError):
    """An identity claim is not backed by the authenticated actor (origin or ownership)."""


class UnitMismatch(ProtocolError):
    """Two units measure different things (or are different currencies): no conversion exists."""

    def __init__(self, from_unit: str, to_unit: str) -> None:
        super().__init__(f"cannot convert {from_unit!r} to {to_unit!r}")
        self.from_unit = from_unit
        self.to_unit = to_unit
