"""draft-cavage-http-signatures-12: the ``Signature`` header most fediverse peers still send.

Its ``Signature`` value is an auth-param list, not a structured field, so it is parsed here.
Choices where the draft and peers differ (also in the package docstring): ``hs2019`` lets the
key decide; without ``headers=`` the coverage is ``(created)`` when a ``created`` parameter is
present, else ``date``; ``(created)``/``(expires)`` are refused with ``rsa-sha256`` (§2.3).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Final

from protocol.digest import make_digest, verify_digest
from protocol.errors import SignatureError, SignatureFailure
from protocol.httpsig.algorithms import (
    RSA_V1_5_SHA256,
    algorithm_for_key,
    check_key_type,
    sign_bytes,
    verify_bytes,
)
from protocol.httpsig.failures import malformed, missing
from protocol.httpsig.freshness import (
    check_expires,
    check_fresh,
    epoch,
    epoch_text,
    signed_date,
)
from protocol.httpsig.message import (
    HttpRequest,
    Target,
    has_body,
    host_header_authority,
    request_target,
    single_line,
    with_headers,
)
from protocol.httpsig.result import CAVAGE, VerifiedSignature
from protocol.keys import PrivateKey, PublicKey
from protocol.timefmt import ensure_aware_utc, format_http_date

_PARAM: Final = re.compile(
    r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^",\s]+))\s*(?:,|\Z)'
)
_ESCAPE: Final = re.compile(r"\\(.)")
#: The ``algorithm`` values verified (absent means ``hs2019``: the key decides).
CAVAGE_ALGORITHMS: Final = frozenset({"hs2019", "rsa-sha256"})


@dataclass(frozen=True, slots=True)
class CavageSignature:
    """A parsed cavage ``Signature`` header; ``headers`` has the default applied."""

    key_id: str
    algorithm: str | None
    headers: tuple[str, ...]
    signature: bytes
    created: str | None
    expires: str | None


def cavage_header(request: HttpRequest) -> str | None:
    """The cavage parameter text, from ``Signature`` or ``Authorization: Signature …``."""
    value = request.header("signature")
    if value is not None:
        return value
    auth = request.header("authorization")
    if auth is not None:
        scheme, _, rest = auth.strip().partition(" ")
        if scheme.lower() == "signature":
            return rest
    return None


@lru_cache(maxsize=1024)
def parse_cavage(text: str) -> CavageSignature:
    """Parse a cavage ``Signature`` header (memoised: an inbox reads the key id first, then
    verifies, and both need the same parse; the result is immutable)."""
    params: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        match = _PARAM.match(text, pos)
        if match is None:
            raise malformed('Signature header is not a list of name="value" parameters')
        name = match[1].lower()
        if name in params:
            raise malformed(f"Signature header repeats {name!r}")
        quoted = match[2]
        params[name] = _ESCAPE.sub(r"\1", quoted) if quoted is not None else match[3]
        pos = match.end()
    key_id = params.get("keyid")
    if not key_id:
        raise malformed("Signature header has no keyId")
    encoded = params.get("signature")
    if not encoded:
        raise malformed("Signature header has no signature", key_id)
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise malformed("signature is not valid base64", key_id) from exc
    listed = params.get("headers")
    if listed is None:
        # cavage-12 §2.1.6 defaults to (created); earlier drafts and Mastodon use Date. Use the
        # spec default when it can be satisfied, otherwise the historical one (C.1 test value).
        names: tuple[str, ...] = ("(created)",) if "created" in params else ("date",)
    else:
        names = tuple(name.lower() for name in listed.split())
        if not names:
            raise malformed("headers parameter is empty", key_id)
    return CavageSignature(
        key_id=key_id,
        algorithm=params.get("algorithm"),
        headers=names,
        signature=signature,
        created=params.get("created"),
        expires=params.get("expires"),
    )


def cavage_signing_string(
    request: HttpRequest,
    header_names: Sequence[str],
    created: datetime | int | str | None = None,
    expires: datetime | int | str | None = None,
) -> str:
    """The cavage-12 signing string: ``name: value`` lines in ``headers=`` order.

    ``host`` falls back to the URL authority when the field is absent (HTTP/2 ``:authority``).
    """
    target = request_target(request.url)
    lines: list[str] = []
    for raw_name in header_names:
        name = raw_name.lower()
        if name == "(request-target)":
            value = f"{request.method.lower()} {target.path_and_query}"
        elif name in {"(created)", "(expires)"}:
            stamp = created if name == "(created)" else expires
            if stamp is None:
                raise malformed(f"{name} is signed but the parameter is missing")
            value = epoch_text(stamp)
        else:
            header = request.header(name)
            if header is None and name == "host":
                header = target.authority
            if header is None:
                raise malformed(f"signed header {name!r} is absent from the request")
            value = header
        lines.append(f"{name}: {single_line(value, name)}")
    return "\n".join(lines)


def check_declared(sig: CavageSignature) -> None:
    """Refuse what no key could make verify, before any key is fetched: an ``algorithm`` other
    than ``hs2019`` or ``rsa-sha256`` (``hmac-sha256``, ``ecdsa-…``), or ``(created)``/``(expires)``
    signed under a named algorithm (cavage-12 §2.3). ``verify_cavage`` applies the same rules."""
    name = (sig.algorithm or "hs2019").lower()
    if name not in CAVAGE_ALGORITHMS:
        raise SignatureError(
            SignatureFailure.UNSUPPORTED_ALGORITHM, f"algorithm {sig.algorithm!r}", sig.key_id
        )
    if {"(created)", "(expires)"} & set(sig.headers) and name != "hs2019":
        raise malformed(
            "(created)/(expires) may only be signed with hs2019 (cavage-12 §2.3)", sig.key_id
        )


def _algorithm(name: str | None, key: PublicKey) -> str:
    lowered = None if name is None else name.lower()
    if lowered is None or lowered == "hs2019":
        return algorithm_for_key(key)  # hs2019: the key decides (RSA → PKCS#1 v1.5 SHA-256)
    if lowered == "rsa-sha256":
        check_key_type(RSA_V1_5_SHA256, key)
        return RSA_V1_5_SHA256
    raise SignatureError(SignatureFailure.UNSUPPORTED_ALGORITHM, f"algorithm {name!r}")


def _check_coverage(
    request: HttpRequest, target: Target, names: tuple[str, ...], required: Collection[str]
) -> None:
    """The strict policy: target, host, a time, (with a body) the digest; Host must match."""
    absent = [name for name in ("(request-target)", "host") if name not in names]
    if "date" not in names and "(created)" not in names:
        absent.append("date or (created)")
    if has_body(request) and "digest" not in names:
        absent.append("digest")
    absent += [name.lower() for name in required if name.lower() not in names]
    if absent:
        raise missing(absent)
    host = request.header("host")
    if host is not None and host_header_authority(host, target.scheme) != target.authority:
        raise SignatureError(SignatureFailure.INVALID, "Host header does not match the URL")


def verify_cavage(
    request: HttpRequest,
    sig: CavageSignature,
    key: PublicKey,
    *,
    now: datetime,
    window: timedelta,
    strict: bool,
    required: Collection[str],
) -> VerifiedSignature:
    """Verify a parsed cavage signature against ``request`` and ``key``."""
    algorithm = _algorithm(sig.algorithm, key)
    names = sig.headers
    if {"(created)", "(expires)"} & set(names) and (sig.algorithm or "hs2019").lower() != "hs2019":
        raise malformed("(created)/(expires) may only be signed with hs2019 (cavage-12 §2.3)")
    target = request_target(request.url)  # an unusable URL is refused before any other check
    if strict:
        _check_coverage(request, target, names, required)
    created = epoch(sig.created, "created") if sig.created is not None else None
    expires = epoch(sig.expires, "expires") if sig.expires is not None else None
    date = signed_date(request, strict=strict) if "date" in names else None
    if strict:
        if "date" in names and date is not None:
            check_fresh("Date", date, now, window)
        if "(created)" in names:
            if created is None:
                raise malformed("(created) is signed but the parameter is missing")
            check_fresh("created", created, now, window)
        check_expires(expires, now)
    if "digest" in names:
        digest = request.header("digest")
        if digest is not None:
            verify_digest(digest, request.body or b"")
    signing = cavage_signing_string(request, names, sig.created, sig.expires)
    verify_bytes(algorithm, key, sig.signature, signing.encode("utf-8", "surrogateescape"))
    return VerifiedSignature(
        key_id=sig.key_id,
        scheme=CAVAGE,
        algorithm=(sig.algorithm or "hs2019").lower(),
        covered=names,
        created=created if created is not None else date,
    )


def sign_request_cavage(
    request: HttpRequest,
    *,
    key_id: str,
    private_key: PrivateKey,
    now: datetime,
    headers: Sequence[str] | None = None,
    expires: datetime | None = None,
) -> HttpRequest:
    """Add ``Host``, ``Date``, ``Digest`` (when there is a body) and a cavage ``Signature``.

    Default coverage is ``(request-target) host date`` plus ``digest`` with a body — what
    Mastodon verifies. RSA keys sign as ``rsa-sha256``, Ed25519 keys (or any signature covering
    ``(created)``/``(expires)``) as ``hs2019``.
    """
    now = ensure_aware_utc(now)
    if any(char in key_id for char in '"\\') or any(ord(char) < 0x20 for char in key_id):
        raise ValueError("keyId cannot contain quotes, backslashes or control characters")
    target = request_target(request.url)
    added = [("Host", target.authority), ("Date", format_http_date(now))]
    if request.body is not None:
        added.append(("Digest", make_digest(request.body)))
    unsigned = with_headers(request, drop={"host", "date", "digest", "signature"}, add=added)
    if headers is None:
        names: tuple[str, ...] = ("(request-target)", "host", "date")
        names += ("digest",) if request.body is not None else ()
    else:
        names = tuple(name.lower() for name in headers)
    if not names:
        raise ValueError("a signature must cover at least one header")
    created = epoch_text(now) if "(created)" in names else None
    expires_text = epoch_text(expires) if expires is not None else None
    if "(expires)" in names and expires_text is None:
        raise ValueError("(expires) is covered but no expires time was given")
    pseudo = created is not None or expires_text is not None
    algorithm = algorithm_for_key(private_key)
    name = "rsa-sha256" if algorithm == RSA_V1_5_SHA256 and not pseudo else "hs2019"
    try:
        signing = cavage_signing_string(unsigned, names, created, expires_text)
    except SignatureError as exc:
        raise ValueError(exc.detail) from exc
    signature = sign_bytes(algorithm, private_key, signing.encode("utf-8", "surrogateescape"))
    parts = [f'keyId="{key_id}"', f'algorithm="{name}"']
    if created is not None:
        parts.append(f"created={created}")
    if expires_text is not None:
        parts.append(f"expires={expires_text}")
    parts.append(f'headers="{" ".join(names)}"')
    parts.append(f'signature="{base64.b64encode(signature).decode("ascii")}"')
    return with_headers(unsigned, drop=(), add=[("Signature", ",".join(parts))])
