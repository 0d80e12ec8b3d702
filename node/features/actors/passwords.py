"""Password hashing: argon2id through ``argon2-cffi`` with its recommended (RFC 9106 low-memory)
parameters; no hand-made primitives.

A hash costs about 0.1 s of CPU and 64 MiB on purpose, so the node never runs one on its event
loop: ``hash_password_off_loop`` and ``verify_password_off_loop`` run it in a worker thread, and
callers do so *before* opening a write transaction (SQLite has one writer; a hash inside it
would hold every other write back).

Hashes made by earlier releases (scrypt from ``cryptography``, ``scrypt$N$r$p$salt$digest``)
still verify; the verdict then asks for a rehash, and sign-in stores an argon2id hash instead.
An argon2 hash made with weaker parameters than today's is upgraded the same way.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
from dataclasses import dataclass
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

HASHER: Final = PasswordHasher()
"""The one hasher (immutable parameters: argon2id, t=3, m=64 MiB, p=4 as of argon2-cffi 25)."""

DUMMY_HASH: Final = "$argon2id$v=19$m=65536,t=3,p=4$B0e3UBwUtQIUaYMFxvs0ZA$xoB8qIEemSZ5B7fxZPEPjDfQs0mKp1jwgMpFw7Uscow"
"""An argon2id hash, with ``HASHER``'s parameters, of a random password nobody kept. A name that
is unknown, not a member's or has no password is checked against it, so the answer takes as
long as for a member with a wrong password (the timing does not tell which names exist). A test
checks that ``HASHER`` would not rehash it, i.e. that its parameters are still today's."""

LEGACY_SCHEME: Final = "scrypt"
LEGACY_LENGTH: Final = 32


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one verification: did it match, and should the stored hash be replaced
    (a legacy scrypt hash, or argon2 parameters weaker than ``HASHER``'s)?"""

    ok: bool
    rehash: bool = False


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (blocking: call it through ``hash_password_off_loop``
    from the node; tests and one-shot tools may call it directly)."""
    return HASHER.hash(password)


def verify_password(password: str, stored: str | None) -> Verdict:
    """Check ``password`` against ``stored`` with exactly one key derivation, whatever
    ``stored`` is: a missing or unreadable hash is replaced by ``DUMMY_HASH``, and refused."""
    if stored is not None and stored.startswith(LEGACY_SCHEME + "$"):
        ok = _verify_scrypt(password, stored)
        return Verdict(ok, rehash=ok)
    known = stored is not None and stored.startswith("$argon2")
    target = stored if stored is not None and known else DUMMY_HASH
    try:
        HASHER.verify(target, password)
    except (VerificationError, InvalidHashError):
        return Verdict(False)
    if not known:  # only if someone knew the dummy's password: still not a sign-in
        return Verdict(False)
    return Verdict(True, rehash=HASHER.check_needs_rehash(target))


def check_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored`` (blocking; see ``verify_password``)."""
    return verify_password(password, stored).ok


async def hash_password_off_loop(password: str) -> str:
    """``hash_password`` in a worker thread, so the event loop keeps serving meanwhile."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_off_loop(password: str, stored: str | None) -> Verdict:
    """``verify_password`` in a worker thread, so the event loop keeps serving meanwhile."""
    return await asyncio.to_thread(verify_password, password, stored)


def _verify_scrypt(password: str, stored: str) -> bool:
    """A hash from before argon2id: ``scrypt$N$r$p$salt$digest`` (base64 salt and digest)."""
    try:
        _, n, r, p, salt, digest = stored.split("$")
        kdf = Scrypt(
            salt=base64.b64decode(salt), length=LEGACY_LENGTH, n=int(n), r=int(r), p=int(p)
        )
        kdf.verify(password.encode("utf-8"), base64.b64decode(digest))
    except (ValueError, InvalidKey):
        return False
    return True


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
