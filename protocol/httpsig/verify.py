"""The entry points a receiver calls: which scheme a request uses, whose key to fetch, and
verification under the strict policy (see the package docstring)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from protocol.errors import MalformedDocument, SignatureError, SignatureFailure
from protocol.httpsig.algorithms import RFC9421_ALGORITHMS
from protocol.httpsig.cavage import cavage_header, check_declared, parse_cavage, verify_cavage
from protocol.httpsig.failures import malformed
from protocol.httpsig.fields import parse_dictionary
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
    """The keyId to resolve before verifying (first label when RFC 9421 has several); an inbox
    uses ``precheck_signature``, which also refuses several signatures and foreign algorithms."""
    cavage = _detect(request)
    if cavage is None:
        return parse_signature(request, None).key_id
    return parse_cavage(cavage).key_id


def _multiple(detail: str) -> SignatureError:
    return SignatureError(
        SignatureFailure.MULTIPLE_SIGNATURES, f"{detail}; send exactly one signature"
    )


def _has_authorization_signature(request: HttpRequest) -> bool:
    auth = request.header("authorization")
    return auth is not None and auth.strip().partition(" ")[0].lower() == "signature"


def _one_rfc9421_label(request: HttpRequest) -> str:
    """The one label of an RFC 9421 request; several, or two different ones, are refused."""
    inputs = parse_dictionary(request.header("signature-input") or "", "Signature-Input")
    signatures = parse_dictionary(request.header("signature") or "", "Signature")
    if len(inputs) > 1 or len(signatures) > 1:
        raise _multiple(
            f"Signature-Input labels {sorted(inputs)} and Signature labels {sorted(signatures)}"
        )
    if not inputs:
        raise malformed("Signature-Input is empty")
    label = next(iter(inputs))
    if set(signatures) != {label}:
        raise malformed(
            f"Signature-Input labels {label!r} but Signature labels {sorted(signatures)}"
        )
    return label


def precheck_signature(request: HttpRequest) -> str:
    """The key id to resolve, once everything that needs no key has been checked.

    A receiver calls this before it fetches any key, so a request that no key could make
    verify costs no fetch: the headers must parse, the declared algorithm (cavage
    ``algorithm``, RFC 9421 ``alg``) must be one verified here, and there must be exactly one
    signature. Several signatures (RFC 9421 labels, or a cavage ``Signature`` header beside an
    ``Authorization: Signature`` or an RFC 9421 signature) are refused rather than checking only
    one: whichever is not checked could claim anything, and "who signed this" must have one
    answer. ``verify_request`` with ``label=`` still reads one of several (spec vectors).
    """
    try:
        if request.header("signature-input") is not None:
            if _has_authorization_signature(request):
                raise _multiple("an RFC 9421 signature and an Authorization: Signature header")
            parsed = parse_signature(request, _one_rfc9421_label(request))
            declared = parsed.param("alg")
            if declared is not None and declared not in RFC9421_ALGORITHMS:
                raise SignatureError(
                    SignatureFailure.UNSUPPORTED_ALGORITHM, f"alg {declared!r}", parsed.key_id
                )
            return parsed.key_id
        if request.header("signature") is not None and _has_authorization_signature(request):
            raise _multiple("a Signature header and an Authorization: Signature header")
        cavage = parse_cavage(_detect(request) or "")
        check_declared(cavage)
        return cavage.key_id
    except MalformedDocument as exc:
        raise malformed(str(exc)) from exc


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
