"""The entry points a receiver calls: which scheme a request uses, whose key to fetch, and
verification under the strict policy (see the package docstring)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from protocol.errors import MalformedDocument, SignatureError, SignatureFailure
from protocol.httpsig.cavage import cavage_header, parse_cavage, verify_cavage
from protocol.httpsig.failures import malformed
from protocol.httpsig.freshness import DEFAULT_WINDOW
from protocol.httpsig.message import HttpRequest
from protocol.httpsig.result import VerifiedSignature
from protocol.httpsig.rfc9421 import parse_signature, verify_rfc9421
from protocol.keys import PublicKey
from protocol.timefmt import ensure_aware_utc


def _detect(request: HttpRequest) -> str | None:
    """``None`` for RFC 9421 (``Signature-Input`` present), else the cavage parameter text."""
    if request.header("signature-input") is not None:
        return None
    cavage = cavage_header(request)
    if cavage is None:
        raise SignatureError(SignatureFailure.NO_SIGNATURE, "request carries no HTTP signature")
    return cavage


def signature_key_id(request: HttpRequest) -> str:
    """The keyId to resolve before verifying (first label when RFC 9421 has several)."""
    cavage = _detect(request)
    if cavage is None:
        return parse_signature(request, None).key_id
    return parse_cavage(cavage).key_id


def verify_request(
    request: HttpRequest,
    public_key: PublicKey,
    *,
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
    strict: bool = True,
    required: Collection[str] = (),
    label: str | None = None,
    algorithm: str | None = None,
) -> VerifiedSignature:
    """Verify the request's signature (RFC 9421 if ``Signature-Input`` is present, else cavage).

    ``strict`` enforces the policy in the package docstring; ``strict=False`` only checks the
    cryptography over whatever is covered (plus a covered digest against the body), for replaying
    spec vectors. ``required`` names extra fields that must be covered. ``label`` picks an RFC
    9421 signature (default: the first). ``algorithm`` is an RFC 9421 algorithm bound to the key
    out of band, used when the ``alg`` parameter is absent. Key sizes are checked when keys are
    loaded (``protocol.keys``), not here. Raises ``SignatureError`` carrying the key id if known.
    """
    now = ensure_aware_utc(now)
    cavage_text = _detect(request)
    key_id: str | None = None
    try:
        try:
            if cavage_text is None:
                parsed = parse_signature(request, label)
                key_id = parsed.key_id
                return verify_rfc9421(
                    request,
                    parsed,
                    public_key,
                    now=now,
                    window=window,
                    strict=strict,
                    required=required,
                    algorithm=algorithm,
                )
            cavage = parse_cavage(cavage_text)
            key_id = cavage.key_id
            return verify_cavage(
                request,
                cavage,
                public_key,
                now=now,
                window=window,
                strict=strict,
                required=required,
            )
        except MalformedDocument as exc:
            raise malformed(str(exc)) from exc
    except SignatureError as exc:
        if exc.key_id is None:
            exc.key_id = key_id
        raise
