"""RFC 9421 HTTP message signatures: ``Signature-Input`` + ``Signature`` dictionaries.

Verification applies the strict policy (see the package docstring) on top of the cryptography;
signing writes ``created`` and ``keyid`` always, ``alg`` only when asked (RFC 9421 prefers the
algorithm to be bound to the key out of band).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from protocol.digest import make_content_digest, verify_content_digest
from protocol.errors import SignatureError, SignatureFailure
from protocol.httpsig.algorithms import (
    RFC9421_ALGORITHMS,
    algorithm_for_key,
    check_key_type,
    sign_bytes,
    verify_bytes,
)
from protocol.httpsig.components import covered_name, parse_component, signature_base
from protocol.httpsig.failures import malformed, missing
from protocol.httpsig.fields import (
    BareItem,
    InnerList,
    Item,
    is_key,
    parse_dictionary,
    serialize_inner_list,
    serialize_member,
)
from protocol.httpsig.freshness import check_expires, check_fresh, epoch, signed_date
from protocol.httpsig.message import HttpRequest, has_body, request_target, with_headers
from protocol.httpsig.result import RFC9421, VerifiedSignature
from protocol.keys import PrivateKey, PublicKey
from protocol.timefmt import ensure_aware_utc

_TYPED_PARAMS = {"created": int, "expires": int, "alg": str, "nonce": str, "tag": str}


@dataclass(frozen=True, slots=True)
class Rfc9421Signature:
    """One labelled signature: its Signature-Input member and the signature bytes."""

    label: str
    key_id: str
    params: InnerList
    params_text: str
    signature: bytes

    def param(self, name: str) -> BareItem | None:
        """A signature parameter (``created``, ``alg`` …), or ``None`` when absent."""
        return self.params.param(name)


def parse_signature(request: HttpRequest, label: str | None) -> Rfc9421Signature:
    """The signature labelled ``label`` (default: the first Signature-Input member)."""
    inputs = parse_dictionary(request.header("signature-input") or "", "Signature-Input")
    if not inputs:
        raise malformed("Signature-Input is empty")
    chosen = label if label is not None else next(iter(inputs))
    member = inputs.get(chosen)
    if member is None or not isinstance(member.value, InnerList):
        raise malformed(f"Signature-Input has no inner list labelled {chosen!r}")
    params = member.value
    key_id = params.param("keyid")
    if not isinstance(key_id, str) or not key_id:
        raise malformed(f"signature {chosen!r} has no keyid")
    for key, value in params.params:
        wanted = _TYPED_PARAMS.get(key)
        if wanted is not None and (not isinstance(value, wanted) or isinstance(value, bool)):
            raise malformed(f"signature parameter {key!r} has the wrong type", key_id)
    if any(not isinstance(item.value, str) for item in params.items):
        raise malformed("component identifiers must be strings", key_id)
    signatures = parse_dictionary(request.header("signature") or "", "Signature")
    signed = signatures.get(chosen)
    if signed is None or not isinstance(signed.value, Item):
        raise malformed(f"Signature has no member labelled {chosen!r}", key_id)
    if not isinstance(signed.value.value, bytes):
        raise malformed("Signature member is not a byte sequence", key_id)
    return Rfc9421Signature(
        label=chosen,
        key_id=key_id,
        params=params,
        # The @signature-params line must carry the member exactly as the signer wrote it: a
        # signer that spaced or ordered it unlike http-sf's serialiser signed its own text.
        # http-sf only validated it here, so nothing unparsable reaches the base.
        params_text=member.raw,
        signature=signed.value.value,
    )


def _algorithm(sig: Rfc9421Signature, key: PublicKey, bound: str | None) -> str:
    declared = sig.param("alg")
    if declared is not None:
        if declared not in RFC9421_ALGORITHMS:
            raise SignatureError(SignatureFailure.UNSUPPORTED_ALGORITHM, f"alg {declared!r}")
        if bound is not None and bound != declared:
            raise SignatureError(
                SignatureFailure.KEY_TYPE_MISMATCH, f"alg {declared!r} but the key is for {bound}"
            )
        algorithm = str(declared)
    else:
        algorithm = bound if bound is not None else algorithm_for_key(key)
        if algorithm not in RFC9421_ALGORITHMS:
            raise SignatureError(SignatureFailure.UNSUPPORTED_ALGORITHM, f"algorithm {algorithm!r}")
    check_key_type(algorithm, key)
    return algorithm


def _check_coverage(
    request: HttpRequest, names: set[str], created: datetime | None, required: Collection[str]
) -> None:
    """The strict policy: method, target, authority, a time and (with a body) the digest."""
    target = request_target(request.url)
    absent: list[str] = []
    if "@method" not in names:
        absent.append("@method")
    path_ok = "@path" in names and (not target.query or "@query" in names)
    if not ({"@target-uri", "@request-target"} & names or path_ok):
        absent.append("@target-uri (or @path and @query)")
    if not {"@authority", "@target-uri", "host"} & names:
        absent.append("@authority")
    if created is None and "date" not in names:
        absent.append("created or date")
    if has_body(request) and "content-digest" not in names:
        absent.append("content-digest")
    absent += [name.lower() for name in required if name.lower() not in names]
    if absent:
        raise missing(absent)


def verify_rfc9421(
    request: HttpRequest,
    sig: Rfc9421Signature,
    key: PublicKey,
    *,
    now: datetime,
    window: timedelta,
    strict: bool,
    required: Collection[str],
    algorithm: str | None,
) -> VerifiedSignature:
    """Verify one parsed signature; ``algorithm`` is bound to the key out of band, if known."""
    alg = _algorithm(sig, key, algorithm)
    components = sig.params.items
    names = {str(item.value).lower() for item in components if not item.params}
    created_value = sig.param("created")
    expires_value = sig.param("expires")
    created = epoch(created_value, "created") if isinstance(created_value, int) else None
    expires = epoch(expires_value, "expires") if isinstance(expires_value, int) else None
    if strict:
        _check_coverage(request, names, created, required)
    date = signed_date(request, strict=strict) if "date" in names else None
    if strict:
        if created is not None:
            check_fresh("created", created, now, window)
        if date is not None:
            check_fresh("Date", date, now, window)
        check_expires(expires, now)
    if "content-digest" in names:
        digest = request.header("content-digest")
        if digest is not None:
            verify_content_digest(digest, request.body or b"")
    base = signature_base(request, components, sig.params_text)
    try:
        encoded = base.encode("ascii")
    except UnicodeEncodeError as exc:
        raise malformed("signature base is not ASCII") from exc
    verify_bytes(alg, key, sig.signature, encoded)
    return VerifiedSignature(
        key_id=sig.key_id,
        scheme=RFC9421,
        algorithm=alg,
        covered=tuple(covered_name(item) for item in components),
        created=created if created is not None else date,
    )


def _content_digest_matches(header: str, body: bytes) -> bool:
    try:
        verify_content_digest(header, body)
    except SignatureError:
        return False
    return True


def _with_content_digest(request: HttpRequest) -> HttpRequest:
    """Add a sha-256 ``Content-Digest`` unless one already matches the body."""
    if request.body is None:
        return request
    current = request.header("content-digest")
    if current is not None and _content_digest_matches(current, request.body):
        return request
    return with_headers(
        request,
        drop={"content-digest"},
        add=[("Content-Digest", make_content_digest(request.body))],
    )


def sign_request_rfc9421(
    request: HttpRequest,
    *,
    key_id: str,
    private_key: PrivateKey,
    now: datetime,
    algorithm: str | None = None,
    label: str = "sig1",
    components: Sequence[str] | None = None,
    created: datetime | None = None,
    expires: datetime | None = None,
    nonce: str | None = None,
    tag: str | None = None,
) -> HttpRequest:
    """Add an RFC 9421 signature (``Signature-Input`` + ``Signature``) labelled ``label``.

    With a body, a ``Content-Digest`` (sha-256) is added unless a matching one is present.
    Default components: ``@method @target-uri`` (+ ``content-digest`` with a body). ``alg`` is
    written only when ``algorithm`` is given; otherwise verifiers infer it from the key.
    Existing signatures are kept, so a request can carry several.
    """
    now = ensure_aware_utc(now)
    if not is_key(label):
        raise ValueError(f"label {label!r} is not a structured-field key")
    alg = algorithm if algorithm is not None else algorithm_for_key(private_key)
    if alg not in RFC9421_ALGORITHMS:
        raise ValueError(f"unsupported RFC 9421 algorithm {alg!r}")
    try:
        check_key_type(alg, private_key)
        if label in parse_dictionary(request.header("signature-input") or "", "Signature-Input"):
            raise ValueError(f"the request already has a signature labelled {label!r}")
        message = _with_content_digest(request)
        if components is None:
            components = ("@method", "@target-uri")
            components += ("content-digest",) if request.body is not None else ()
        items = tuple(parse_component(spec) for spec in components)
        params: list[tuple[str, BareItem]] = [
            ("created", int(ensure_aware_utc(created if created is not None else now).timestamp()))
        ]
        if expires is not None:
            params.append(("expires", int(ensure_aware_utc(expires).timestamp())))
        params.append(("keyid", key_id))
        for key, value in (("alg", algorithm), ("nonce", nonce), ("tag", tag)):
            if value is not None:
                params.append((key, value))
        inner = InnerList(items, tuple(params))
        params_text = serialize_inner_list(inner)
        base = signature_base(message, items, params_text)
    except SignatureError as exc:
        raise ValueError(exc.detail) from exc
    signature = sign_bytes(alg, private_key, base.encode("ascii"))
    return with_headers(
        message,
        drop=(),
        add=[
            ("Signature-Input", serialize_member(label, inner)),
            ("Signature", serialize_member(label, Item(signature))),
        ],
    )
