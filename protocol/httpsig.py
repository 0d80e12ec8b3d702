"""HTTP message signatures: draft-cavage-http-signatures-12 and RFC 9421.

The fediverse still mostly speaks draft-cavage (Mastodon's ``Signature`` header); newer peers
send RFC 9421 (``Signature-Input`` + ``Signature``). Both are verified here, purely: the caller
passes the request as a value, the already-resolved public key and ``now``.

``verify_request`` applies Chapterhouse's policy (DESIGN §3) on top of the cryptography when
``strict`` is set: the signature must cover the request target, the host, a date, and — for
requests with a body — a digest that matches the body, and the date must be within ``window``.

Deliberate choices, where specs or peers differ:

* cavage ``hs2019`` lets the key decide: RSA → RSASSA-PKCS1-v1_5/SHA-256 (as Mastodon), Ed25519.
* cavage without ``headers=``: ``(created)`` (the cavage-12 default) when a ``created`` parameter
  is present, else ``date`` (earlier drafts, Mastodon, and the spec's own C.1 test value).
* cavage ``(created)``/``(expires)`` are refused with ``rsa-sha256`` (cavage-12 §2.3).
* No Mastodon-style retry without the query string: a GET's query selects what is returned.
* Under ``strict``, a cavage ``Host`` header must name the request URL's authority, so a request
  signed for another host cannot be replayed here.
* RFC 9421 supports the request-derived components, ``@query-param`` and ``@status`` (for
  building response bases only); field parameters (``;sf``, ``;key``, ``;bs``, ``;req``) are not.
"""

from __future__ import annotations

import base64
import binascii
import re
import string
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Final, Literal
from urllib.parse import parse_qsl, quote, unquote_plus, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from protocol.digest import make_content_digest, make_digest, verify_content_digest, verify_digest
from protocol.errors import MalformedDocument, SignatureError, SignatureFailure
from protocol.keys import PrivateKey, PublicKey
from protocol.timefmt import ensure_aware_utc, format_http_date, parse_http_date

Scheme = Literal["draft-cavage-12", "rfc9421"]
CAVAGE: Final[Scheme] = "draft-cavage-12"
RFC9421: Final[Scheme] = "rfc9421"

RSA_V1_5_SHA256: Final = "rsa-v1_5-sha256"
RSA_PSS_SHA512: Final = "rsa-pss-sha512"
ED25519: Final = "ed25519"
RFC9421_ALGORITHMS: Final = frozenset({RSA_V1_5_SHA256, RSA_PSS_SHA512, ED25519})
_PSS_SALT_LENGTH: Final = 64  # RFC 9421 §3.3.1

DEFAULT_WINDOW: Final = timedelta(hours=1)
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


# --------------------------------------------------------------------------- messages


def _normalise_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
) -> tuple[tuple[str, str], ...]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return tuple((str(name), str(value)) for name, value in pairs)


def _field_values(headers: tuple[tuple[str, str], ...], name: str) -> list[str]:
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]


def _joined(values: list[str]) -> str | None:
    # RFC 9421 §2.1 / cavage-12 §2.3: trim each field line, join repeated fields with ", ".
    return ", ".join(value.strip() for value in values) if values else None


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A request as signatures see it; ``url`` is absolute (scheme, host[:port], path, query)."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None = None

    def header(self, name: str) -> str | None:
        """Case-insensitive field lookup; repeated fields are joined with ``", "``."""
        return _joined(_field_values(self.headers, name))

    @classmethod
    def from_mapping(
        cls,
        method: str,
        url: str,
        headers: Mapping[str, str] | Iterable[tuple[str, str]],
        body: bytes | None = None,
    ) -> HttpRequest:
        """Build from a mapping or (name, value) pairs (keeps repeated fields when given pairs)."""
        return cls(method, url, _normalise_headers(headers), body)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A response, only so RFC 9421 signature bases over ``@status`` can be built."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes | None = None

    def header(self, name: str) -> str | None:
        """Case-insensitive field lookup; repeated fields are joined with ``", "``."""
        return _joined(_field_values(self.headers, name))

    @classmethod
    def from_mapping(
        cls,
        status: int,
        headers: Mapping[str, str] | Iterable[tuple[str, str]],
        body: bytes | None = None,
    ) -> HttpResponse:
        """Build from a mapping or (name, value) pairs."""
        return cls(status, _normalise_headers(headers), body)


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """What a successful verification established; ``created`` is the signed time, if any."""

    key_id: str
    scheme: Scheme
    algorithm: str
    covered: tuple[str, ...]
    created: datetime | None


@dataclass(frozen=True, slots=True)
class _Target:
    uri: str
    scheme: str
    authority: str
    path: str
    query: str

    @property
    def path_and_query(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")


def _target(url: str) -> _Target:
    uri = url.split("#", 1)[0]
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as exc:
        raise MalformedDocument(f"request URL {url!r} is not a valid URL") from exc
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        raise MalformedDocument(f"request URL {url!r} must be an absolute http(s) URL")
    return _Target(
        uri=uri,
        scheme=scheme,
        authority=_authority(host, port, scheme),
        path=parts.path or "/",
        query=parts.query,
    )


def _authority(host: str, port: int | None, scheme: str) -> str:
    host = f"[{host}]" if ":" in host else host.lower()
    return host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"


def _host_header_authority(value: str, scheme: str) -> str | None:
    try:
        parts = urlsplit(f"//{value.strip()}")
        port = parts.port
    except ValueError:
        return None
    return _authority(parts.hostname, port, scheme) if parts.hostname else None


def _with_headers(
    request: HttpRequest, *, drop: Collection[str], add: Iterable[tuple[str, str]]
) -> HttpRequest:
    dropped = {name.lower() for name in drop}
    kept = tuple((k, v) for k, v in request.headers if k.lower() not in dropped)
    return replace(request, headers=kept + tuple(add))


def _has_body(request: HttpRequest) -> bool:
    """Body-bearing requests must carry a signed digest; a POST without a body still counts."""
    return bool(request.body) or request.method.upper() in _BODY_METHODS


def _malformed(detail: str, key_id: str | None = None) -> SignatureError:
    return SignatureError(SignatureFailure.MALFORMED, detail, key_id)


def _single_line(value: str, name: str) -> str:
    if "\n" in value or "\r" in value:
        raise _malformed(f"value of {name} contains a line break")
    return value


# --------------------------------------------------------- RFC 8941 structured fields


@dataclass(frozen=True, slots=True)
class _Token:
    value: str


_BareItem = int | float | str | bytes | bool | _Token
_Params = tuple[tuple[str, _BareItem], ...]


@dataclass(frozen=True, slots=True)
class _Item:
    value: _BareItem
    params: _Params = ()


@dataclass(frozen=True, slots=True)
class _InnerList:
    items: tuple[_Item, ...]
    params: _Params = ()


@dataclass(frozen=True, slots=True)
class _Member:
    value: _Item | _InnerList
    raw: str  # the member value exactly as sent (what @signature-params must reproduce)


_DIGITS: Final = frozenset(string.digits)
_KEY_FIRST: Final = frozenset(string.ascii_lowercase + "*")
_KEY_CHARS: Final = frozenset(string.ascii_lowercase + string.digits + "_-.*")
_TOKEN_FIRST: Final = frozenset(string.ascii_letters + "*")
_TOKEN_CHARS: Final = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~:/")
_BASE64_CHARS: Final = frozenset(string.ascii_letters + string.digits + "+/=")
_SF_KEY: Final = re.compile(r"[a-z*][a-z0-9_\-.*]{0,63}")


class _SfParser:
    """A small RFC 8941 parser: enough for Signature-Input, Signature and component ids."""

    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def _error(self, what: str) -> SignatureError:
        return _malformed(f"structured field: {what} at offset {self.pos}")

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _at_end(self) -> bool:
        return self.pos >= len(self.text)

    def _skip(self, chars: str) -> None:
        while not self._at_end() and self.text[self.pos] in chars:
            self.pos += 1

    def dictionary(self) -> dict[str, _Member]:
        members: dict[str, _Member] = {}
        self._skip(" ")
        while not self._at_end():
            key = self._key()
            if self._peek() == "=":
                self.pos += 1
                start = self.pos
                value: _Item | _InnerList = self._item_or_inner_list()
            else:
                start = self.pos
                value = _Item(True, self._params())
            if key in members:
                # RFC 8941 would let the last one win; for signatures ambiguity is refused.
                raise self._error(f"duplicate member {key!r}")
            members[key] = _Member(value, self.text[start : self.pos])
            self._skip(" \t")
            if self._at_end():
                break
            if self._peek() != ",":
                raise self._error("expected ','")
            self.pos += 1
            self._skip(" \t")
            if self._at_end():
                raise self._error("trailing ','")
        return members

    def single_item(self) -> _Item:
        self._skip(" ")
        item = self._item()
        self._skip(" ")
        if not self._at_end():
            raise self._error("trailing characters")
        return item

    def _item_or_inner_list(self) -> _Item | _InnerList:
        return self._inner_list() if self._peek() == "(" else self._item()

    def _inner_list(self) -> _InnerList:
        self.pos += 1
        items: list[_Item] = []
        while not self._at_end():
            self._skip(" ")
            if self._peek() == ")":
                self.pos += 1
                return _InnerList(tuple(items), self._params())
            items.append(self._item())
            if self._peek() not in {" ", ")"}:
                raise self._error("expected ' ' or ')' in inner list")
        raise self._error("unterminated inner list")

    def _item(self) -> _Item:
        return _Item(self._bare_item(), self._params())

    def _params(self) -> _Params:
        params: list[tuple[str, _BareItem]] = []
        while self._peek() == ";":
            self.pos += 1
            self._skip(" ")
            key = self._key()
            value: _BareItem = True
            if self._peek() == "=":
                self.pos += 1
                value = self._bare_item()
            if any(existing == key for existing, _ in params):
                raise self._error(f"duplicate parameter {key!r}")
            params.append((key, value))
        return tuple(params)

    def _key(self) -> str:
        if self._peek() not in _KEY_FIRST:
            raise self._error("expected a key")
        start = self.pos
        while self._peek() in _KEY_CHARS:
            self.pos += 1
        return self.text[start : self.pos]

    def _bare_item(self) -> _BareItem:
        first = self._peek()
        if first == "-" or first in _DIGITS:
            return self._number()
        if first == '"':
            return self._string()
        if first == ":":
            return self._bytes()
        if first == "?":
            return self._boolean()
        if first in _TOKEN_FIRST:
            start = self.pos
            self.pos += 1
            while self._peek() in _TOKEN_CHARS:
                self.pos += 1
            return _Token(self.text[start : self.pos])
        raise self._error("expected a bare item")

    def _number(self) -> int | float:
        sign = 1
        if self._peek() == "-":
            sign = -1
            self.pos += 1
        start = self.pos
        while self._peek() in _DIGITS:
            self.pos += 1
        whole = self.text[start : self.pos]
        if not whole:
            raise self._error("expected digits")
        if self._peek() != ".":
            if len(whole) > 15:
                raise self._error("integer too long")
            return sign * int(whole)
        self.pos += 1
        frac_start = self.pos
        while self._peek() in _DIGITS:
            self.pos += 1
        frac = self.text[frac_start : self.pos]
        if len(whole) > 12 or not 1 <= len(frac) <= 3:
            raise self._error("bad decimal")
        return sign * float(f"{whole}.{frac}")

    def _string(self) -> str:
        self.pos += 1
        chars: list[str] = []
        while not self._at_end():
            char = self.text[self.pos]
            self.pos += 1
            if char == "\\":
                escaped = self._peek()
                if escaped not in {'"', "\\"}:
                    raise self._error("bad escape in string")
                chars.append(escaped)
                self.pos += 1
            elif char == '"':
                return "".join(chars)
            elif not 0x20 <= ord(char) <= 0x7E:
                raise self._error("non-printable character in string")
            else:
                chars.append(char)
        raise self._error("unterminated string")

    def _bytes(self) -> bytes:
        end = self.text.find(":", self.pos + 1)
        if end < 0:
            raise self._error("unterminated byte sequence")
        encoded = self.text[self.pos + 1 : end]
        if not set(encoded) <= _BASE64_CHARS:
            raise self._error("bad character in byte sequence")
        try:
            value = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise self._error("byte sequence is not valid base64") from exc
        self.pos = end + 1
        return value

    def _boolean(self) -> bool:
        value = self.text[self.pos + 1 : self.pos + 2]
        if value not in {"0", "1"}:
            raise self._error("bad boolean")
        self.pos += 2
        return value == "1"


def _serialize_bare(value: _BareItem) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        if abs(value) > 999_999_999_999_999:
            raise ValueError("integer out of structured-field range")
        return str(value)
    if isinstance(value, float):
        text = f"{value:.3f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(value, str):
        if any(not 0x20 <= ord(char) <= 0x7E for char in value):
            raise ValueError("structured-field strings must be printable ASCII")
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    return value.value


def _serialize_params(params: _Params) -> str:
    return "".join(
        f";{key}" if value is True else f";{key}={_serialize_bare(value)}" for key, value in params
    )


def _serialize_item(item: _Item) -> str:
    return _serialize_bare(item.value) + _serialize_params(item.params)


def _serialize_inner_list(inner: _InnerList) -> str:
    return (
        "("
        + " ".join(_serialize_item(item) for item in inner.items)
        + ")"
        + _serialize_params(inner.params)
    )


# ------------------------------------------------------------------------ algorithms


def _algorithm_for_key(key: PublicKey | PrivateKey) -> str:
    """RFC 9421 §3.2 lets the key decide; RSA means PKCS#1 v1.5 (what Mastodon does)."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return RSA_V1_5_SHA256
    return ED25519


def _check_key_type(algorithm: str, key: PublicKey | PrivateKey) -> None:
    is_rsa = isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey)
    if is_rsa != (algorithm != ED25519):
        raise SignatureError(
            SignatureFailure.KEY_TYPE_MISMATCH,
            f"algorithm {algorithm} does not fit a {'RSA' if is_rsa else 'Ed25519'} key",
        )


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=_PSS_SALT_LENGTH)


def _verify_bytes(algorithm: str, key: PublicKey, signature: bytes, message: bytes) -> None:
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        elif algorithm == RSA_PSS_SHA512:
            key.verify(signature, message, _pss(), hashes.SHA512())
        else:
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise SignatureError(SignatureFailure.INVALID, "signature does not verify") from exc


def _sign_bytes(algorithm: str, key: PrivateKey, message: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    if algorithm == RSA_PSS_SHA512:
        return key.sign(message, _pss(), hashes.SHA512())
    return key.sign(message, padding.PKCS1v15(), hashes.SHA256())


# ------------------------------------------------------------------------ time checks


def _epoch(value: str | int | float, what: str) -> datetime:
    if isinstance(value, str):
        if not re.fullmatch(r"\d{1,12}(\.\d{1,9})?", value.strip()):
            raise _malformed(f"{what} is not a Unix timestamp")
        value = float(value)
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise _malformed(f"{what} is out of range") from exc


def _check_fresh(what: str, at: datetime, now: datetime, window: timedelta) -> None:
    if at - now > window:
        raise SignatureError(SignatureFailure.EXPIRED, f"{what} is too far in the future")
    if now - at > window:
        raise SignatureError(SignatureFailure.EXPIRED, f"{what} is outside the time window")


def _check_expires(expires: datetime | None, now: datetime) -> None:
    if expires is not None and expires < now:
        raise SignatureError(SignatureFailure.EXPIRED, "signature has expired")


def _signed_date(request: HttpRequest, *, strict: bool) -> datetime | None:
    raw = request.header("date")
    if raw is None:
        return None  # a covered but absent field fails when the base is built
    try:
        return parse_http_date(raw)
    except MalformedDocument as exc:
        if strict:
            raise _malformed("Date header is not a valid HTTP date") from exc
        return None


# ----------------------------------------------------------------- draft-cavage-12


_CAVAGE_PARAM: Final = re.compile(
    r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^",\s]+))\s*(?:,|\Z)'
)


@dataclass(frozen=True, slots=True)
class _CavageSignature:
    key_id: str
    algorithm: str | None
    headers: tuple[str, ...]
    signature: bytes
    created: str | None
    expires: str | None


def _cavage_header(request: HttpRequest) -> str | None:
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
def _parse_cavage(text: str) -> _CavageSignature:
    """Parse a cavage ``Signature`` header (memoised: an inbox reads the key id first, then
    verifies, and both need the same parse; the result is immutable)."""
    params: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        match = _CAVAGE_PARAM.match(text, pos)
        if match is None:
            raise _malformed('Signature header is not a list of name="value" parameters')
        name = match[1].lower()
        if name in params:
            raise _malformed(f"Signature header repeats {name!r}")
        quoted = match[2]
        params[name] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match[3]
        pos = match.end()
    key_id = params.get("keyid")
    if not key_id:
        raise _malformed("Signature header has no keyId")
    encoded = params.get("signature")
    if not encoded:
        raise _malformed("Signature header has no signature", key_id)
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _malformed("signature is not valid base64", key_id) from exc
    listed = params.get("headers")
    if listed is None:
        # cavage-12 §2.1.6 defaults to (created); earlier drafts and Mastodon use Date. Use the
        # spec default when it can be satisfied, otherwise the historical one (C.1 test value).
        names: tuple[str, ...] = ("(created)",) if "created" in params else ("date",)
    else:
        names = tuple(name.lower() for name in listed.split())
        if not names:
            raise _malformed("headers parameter is empty", key_id)
    return _CavageSignature(
        key_id=key_id,
        algorithm=params.get("algorithm"),
        headers=names,
        signature=signature,
        created=params.get("created"),
        expires=params.get("expires"),
    )


def _epoch_text(value: datetime | int | str) -> str:
    if isinstance(value, datetime):
        return str(int(ensure_aware_utc(value).timestamp()))
    return str(value)


def cavage_signing_string(
    request: HttpRequest,
    header_names: Sequence[str],
    created: datetime | int | str | None = None,
    expires: datetime | int | str | None = None,
) -> str:
    """The cavage-12 signing string: ``name: value`` lines in ``headers=`` order.

    ``host`` falls back to the URL authority when the field is absent (HTTP/2 ``:authority``).
    """
    target = _target(request.url)
    lines: list[str] = []
    for raw_name in header_names:
        name = raw_name.lower()
        if name == "(request-target)":
            value = f"{request.method.lower()} {target.path_and_query}"
        elif name in {"(created)", "(expires)"}:
            stamp = created if name == "(created)" else expires
            if stamp is None:
                raise _malformed(f"{name} is signed but the parameter is missing")
            value = _epoch_text(stamp)
        else:
            header = request.header(name)
            if header is None and name == "host":
                header = target.authority
            if header is None:
                raise _malformed(f"signed header {name!r} is absent from the request")
            value = header
        lines.append(f"{name}: {_single_line(value, name)}")
    return "\n".join(lines)


def _cavage_algorithm(name: str | None, key: PublicKey) -> str:
    lowered = None if name is None else name.lower()
    if lowered is None or lowered == "hs2019":
        return _algorithm_for_key(key)  # hs2019: the key decides (RSA → PKCS#1 v1.5 SHA-256)
    if lowered == "rsa-sha256":
        _check_key_type(RSA_V1_5_SHA256, key)
        return RSA_V1_5_SHA256
    raise SignatureError(SignatureFailure.UNSUPPORTED_ALGORITHM, f"algorithm {name!r}")


def _missing(missing: list[str]) -> SignatureError:
    return SignatureError(
        SignatureFailure.MISSING_COMPONENT, f"signature does not cover {', '.join(missing)}"
    )


def _verify_cavage(
    request: HttpRequest,
    sig: _CavageSignature,
    key: PublicKey,
    *,
    now: datetime,
    window: timedelta,
    strict: bool,
    required: Collection[str],
) -> VerifiedSignature:
    algorithm = _cavage_algorithm(sig.algorithm, key)
    names = sig.headers
    if {"(created)", "(expires)"} & set(names) and (sig.algorithm or "hs2019").lower() != "hs2019":
        raise _malformed("(created)/(expires) may only be signed with hs2019 (cavage-12 §2.3)")
    target = _target(request.url)
    if strict:
        missing = [name for name in ("(request-target)", "host") if name not in names]
        if "date" not in names and "(created)" not in names:
            missing.append("date or (created)")
        if _has_body(request) and "digest" not in names:
            missing.append("digest")
        missing += [name.lower() for name in required if name.lower() not in names]
        if missing:
            raise _missing(missing)
        host = request.header("host")
        if host is not None and _host_header_authority(host, target.scheme) != target.authority:
            raise SignatureError(SignatureFailure.INVALID, "Host header does not match the URL")
    created = _epoch(sig.created, "created") if sig.created is not None else None
    expires = _epoch(sig.expires, "expires") if sig.expires is not None else None
    date = _signed_date(request, strict=strict) if "date" in names else None
    if strict:
        if "date" in names and date is not None:
            _check_fresh("Date", date, now, window)
        if "(created)" in names:
            if created is None:
                raise _malformed("(created) is signed but the parameter is missing")
            _check_fresh("created", created, now, window)
        _check_expires(expires, now)
    if "digest" in names:
        digest = request.header("digest")
        if digest is not None:
            verify_digest(digest, request.body or b"")
    signing = cavage_signing_string(request, names, sig.created, sig.expires)
    _verify_bytes(algorithm, key, sig.signature, signing.encode("utf-8", "surrogateescape"))
    return VerifiedSignature(
        key_id=sig.key_id,
        scheme=CAVAGE,
        algorithm=(sig.algorithm or "hs2019").lower(),
        covered=names,
        created=created if created is not None else date,
    )


# ------------------------------------------------------------------------- RFC 9421


@dataclass(frozen=True, slots=True)
class _Rfc9421Signature:
    label: str
    key_id: str
    components: tuple[_Item, ...]
    params: _Params
    params_raw: str
    signature: bytes

    def param(self, name: str) -> _BareItem | None:
        return next((value for key, value in self.params if key == name), None)


def _parse_component(spec: str) -> _Item:
    text = spec.strip()
    if not text.startswith('"'):
        name, sep, rest = text.partition(";")
        name = name.strip().lower()
        if not re.fullmatch(r"@?[a-z0-9!#$%&'*+.^_`|~-]+", name):
            raise _malformed(f"bad component name {spec!r}")
        text = f'"{name}"' + (f";{rest}" if sep else "")
    item = _SfParser(text).single_item()
    if not isinstance(item.value, str) or not item.value:
        raise _malformed(f"component identifier {spec!r} must be a string")
    return item


def _query_param(target: _Target, item: _Item) -> str:
    names = [value for key, value in item.params if key == "name"]
    if len(item.params) != 1 or len(names) != 1 or not isinstance(names[0], str):
        raise _malformed('@query-param needs exactly one "name" parameter')
    wanted = quote(unquote_plus(names[0]), safe="")
    values = [
        value
        for key, value in parse_qsl(target.query, keep_blank_values=True)
        if quote(key, safe="") == wanted
    ]
    if len(values) != 1:
        raise _malformed(f"query parameter {names[0]!r} must occur exactly once")
    return quote(values[0], safe="")


def _derived_value(message: HttpRequest | HttpResponse, item: _Item, name: str) -> str:
    if name == "@status":
        if not isinstance(message, HttpResponse) or item.params:
            raise _malformed("@status applies only to responses")
        return str(message.status)
    if not isinstance(message, HttpRequest):
        raise _malformed(f"{name} applies only to requests")
    target = _target(message.url)
    if name == "@query-param":
        return _query_param(target, item)
    if item.params:
        raise _malformed(f"parameters on {name} are not supported")
    values = {
        "@method": message.method,
        "@target-uri": target.uri,
        "@authority": target.authority,
        "@scheme": target.scheme,
        "@request-target": target.path_and_query,
        "@path": target.path,
        "@query": f"?{target.query}",
    }
    if name not in values:
        raise _malformed(f"unsupported derived component {name}")
    return values[name]


def _component_value(message: HttpRequest | HttpResponse, item: _Item) -> str:
    name = str(item.value).lower()
    if name.startswith("@"):
        return _single_line(_derived_value(message, item, name), name)
    if item.params:
        raise _malformed(f"component parameters on {name!r} are not supported")
    value = _joined(_field_values(message.headers, name))
    if value is None:
        raise _malformed(f"covered field {name!r} is absent from the message")
    return _single_line(value, name)


def _signature_base(
    message: HttpRequest | HttpResponse, components: Sequence[_Item], params_raw: str
) -> str:
    lines: list[str] = []
    seen: set[str] = set()
    for item in components:
        identifier = _serialize_item(item)
        if identifier in seen:
            raise _malformed(f"component {identifier} is listed twice")
        if item.value == "@signature-params":
            raise _malformed("@signature-params cannot be a covered component")
        seen.add(identifier)
        lines.append(f"{identifier}: {_component_value(message, item)}")
    lines.append(f'"@signature-params": {params_raw}')
    return "\n".join(lines)


def rfc9421_signature_base(
    message: HttpRequest | HttpResponse, components: Sequence[str], params_serialized: str
) -> str:
    """The RFC 9421 §2.5 signature base.

    ``components`` are identifiers such as ``"@method"``, ``"content-digest"`` or
    ``'"@query-param";name="Pet"'``; ``params_serialized`` is the Signature-Input member value
    (inner list plus parameters), reproduced verbatim on the ``@signature-params`` line.
    """
    return _signature_base(message, [_parse_component(c) for c in components], params_serialized)


def _parse_rfc9421(request: HttpRequest, label: str | None) -> _Rfc9421Signature:
    inputs = _SfParser(request.header("signature-input") or "").dictionary()
    if not inputs:
        raise _malformed("Signature-Input is empty")
    chosen = label if label is not None else next(iter(inputs))
    member = inputs.get(chosen)
    if member is None or not isinstance(member.value, _InnerList):
        raise _malformed(f"Signature-Input has no inner list labelled {chosen!r}")
    params = member.value.params
    key_id = next((value for key, value in params if key == "keyid"), None)
    if not isinstance(key_id, str) or not key_id:
        raise _malformed(f"signature {chosen!r} has no keyid")
    for key, value in params:
        wanted = int if key in {"created", "expires"} else str
        if key in {"created", "expires", "alg", "nonce", "tag"} and (
            not isinstance(value, wanted) or isinstance(value, bool)
        ):
            raise _malformed(f"signature parameter {key!r} has the wrong type", key_id)
    if any(not isinstance(item.value, str) for item in member.value.items):
        raise _malformed("component identifiers must be strings", key_id)
    signatures = _SfParser(request.header("signature") or "").dictionary()
    signed = signatures.get(chosen)
    if signed is None or not isinstance(signed.value, _Item):
        raise _malformed(f"Signature has no member labelled {chosen!r}", key_id)
    if not isinstance(signed.value.value, bytes):
        raise _malformed("Signature member is not a byte sequence", key_id)
    return _Rfc9421Signature(
        label=chosen,
        key_id=key_id,
        components=member.value.items,
        params=params,
        params_raw=member.raw,
        signature=signed.value.value,
    )


def _rfc9421_algorithm(sig: _Rfc9421Signature, key: PublicKey, bound: str | None) -> str:
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
        algorithm = bound if bound is not None else _algorithm_for_key(key)
        if algorithm not in RFC9421_ALGORITHMS:
            raise SignatureError(SignatureFailure.UNSUPPORTED_ALGORITHM, f"algorithm {algorithm!r}")
    _check_key_type(algorithm, key)
    return algorithm


def _verify_rfc9421(
    request: HttpRequest,
    sig: _Rfc9421Signature,
    key: PublicKey,
    *,
    now: datetime,
    window: timedelta,
    strict: bool,
    required: Collection[str],
    algorithm: str | None,
) -> VerifiedSignature:
    alg = _rfc9421_algorithm(sig, key, algorithm)
    names = {str(item.value).lower() for item in sig.components if not item.params}
    created_value = sig.param("created")
    expires_value = sig.param("expires")
    created = _epoch(created_value, "created") if isinstance(created_value, int) else None
    expires = _epoch(expires_value, "expires") if isinstance(expires_value, int) else None
    if strict:
        target = _target(request.url)
        missing: list[str] = []
        if "@method" not in names:
            missing.append("@method")
        path_ok = "@path" in names and (not target.query or "@query" in names)
        if not ({"@target-uri", "@request-target"} & names or path_ok):
            missing.append("@target-uri (or @path and @query)")
        if not {"@authority", "@target-uri", "host"} & names:
            missing.append("@authority")
        if created is None and "date" not in names:
            missing.append("created or date")
        if _has_body(request) and "content-digest" not in names:
            missing.append("content-digest")
        missing += [name.lower() for name in required if name.lower() not in names]
        if missing:
            raise _missing(missing)
    date = _signed_date(request, strict=strict) if "date" in names else None
    if strict:
        if created is not None:
            _check_fresh("created", created, now, window)
        if date is not None:
            _check_fresh("Date", date, now, window)
        _check_expires(expires, now)
    if "content-digest" in names:
        digest = request.header("content-digest")
        if digest is not None:
            verify_content_digest(digest, request.body or b"")
    base = _signature_base(request, sig.components, sig.params_raw)
    try:
        encoded = base.encode("ascii")
    except UnicodeEncodeError as exc:
        raise _malformed("signature base is not ASCII") from exc
    _verify_bytes(alg, key, sig.signature, encoded)
    return VerifiedSignature(
        key_id=sig.key_id,
        scheme=RFC9421,
        algorithm=alg,
        covered=tuple(str(item.value) + _serialize_params(item.params) for item in sig.components),
        created=created if created is not None else date,
    )


# ---------------------------------------------------------------------- public entry


def _detect(request: HttpRequest) -> str | None:
    """``None`` for RFC 9421 (``Signature-Input`` present), else the cavage parameter text."""
    if request.header("signature-input") is not None:
        return None
    cavage = _cavage_header(request)
    if cavage is None:
        raise SignatureError(SignatureFailure.NO_SIGNATURE, "request carries no HTTP signature")
    return cavage


def signature_key_id(request: HttpRequest) -> str:
    """The keyId to resolve before verifying (first label when RFC 9421 has several)."""
    cavage = _detect(request)
    if cavage is None:
        return _parse_rfc9421(request, None).key_id
    return _parse_cavage(cavage).key_id


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

    ``strict`` enforces the policy in the module docstring; ``strict=False`` only checks the
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
                parsed = _parse_rfc9421(request, label)
                key_id = parsed.key_id
                return _verify_rfc9421(
                    request,
                    parsed,
                    public_key,
                    now=now,
                    window=window,
                    strict=strict,
                    required=required,
                    algorithm=algorithm,
                )
            cavage = _parse_cavage(cavage_text)
            key_id = cavage.key_id
            return _verify_cavage(
                request,
                cavage,
                public_key,
                now=now,
                window=window,
                strict=strict,
                required=required,
            )
        except MalformedDocument as exc:
            raise _malformed(str(exc)) from exc
    except SignatureError as exc:
        if exc.key_id is None:
            exc.key_id = key_id
        raise


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
    target = _target(request.url)
    added = [("Host", target.authority), ("Date", format_http_date(now))]
    if request.body is not None:
        added.append(("Digest", make_digest(request.body)))
    unsigned = _with_headers(request, drop={"host", "date", "digest", "signature"}, add=added)
    if headers is None:
        names: tuple[str, ...] = ("(request-target)", "host", "date")
        names += ("digest",) if request.body is not None else ()
    else:
        names = tuple(name.lower() for name in headers)
    if not names:
        raise ValueError("a signature must cover at least one header")
    created = _epoch_text(now) if "(created)" in names else None
    expires_text = _epoch_text(expires) if expires is not None else None
    if "(expires)" in names and expires_text is None:
        raise ValueError("(expires) is covered but no expires time was given")
    pseudo = created is not None or expires_text is not None
    algorithm = _algorithm_for_key(private_key)
    name = "rsa-sha256" if algorithm == RSA_V1_5_SHA256 and not pseudo else "hs2019"
    try:
        signing = cavage_signing_string(unsigned, names, created, expires_text)
    except SignatureError as exc:
        raise ValueError(exc.detail) from exc
    signature = _sign_bytes(algorithm, private_key, signing.encode("utf-8", "surrogateescape"))
    parts = [f'keyId="{key_id}"', f'algorithm="{name}"']
    if created is not None:
        parts.append(f"created={created}")
    if expires_text is not None:
        parts.append(f"expires={expires_text}")
    parts.append(f'headers="{" ".join(names)}"')
    parts.append(f'signature="{base64.b64encode(signature).decode("ascii")}"')
    return _with_headers(unsigned, drop=(), add=[("Signature", ",".join(parts))])


def _content_digest_matches(header: str, body: bytes) -> bool:
    try:
        verify_content_digest(header, body)
    except SignatureError:
        return False
    return True


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
    if not _SF_KEY.fullmatch(label):
        raise ValueError(f"label {label!r} is not a structured-field key")
    alg = algorithm if algorithm is not None else _algorithm_for_key(private_key)
    if alg not in RFC9421_ALGORITHMS:
        raise ValueError(f"unsupported RFC 9421 algorithm {alg!r}")
    try:
        _check_key_type(alg, private_key)
        if label in _SfParser(request.header("signature-input") or "").dictionary():
            raise ValueError(f"the request already has a signature labelled {label!r}")
        message = request
        if request.body is not None:
            current = request.header("content-digest")
            if current is None or not _content_digest_matches(current, request.body):
                message = _with_headers(
                    request,
                    drop={"content-digest"},
                    add=[("Content-Digest", make_content_digest(request.body))],
                )
        if components is None:
            components = ("@method", "@target-uri")
            components += ("content-digest",) if request.body is not None else ()
        items = tuple(_parse_component(spec) for spec in components)
        params: list[tuple[str, _BareItem]] = [
            ("created", int(ensure_aware_utc(created if created is not None else now).timestamp()))
        ]
        if expires is not None:
            params.append(("expires", int(ensure_aware_utc(expires).timestamp())))
        params.append(("keyid", key_id))
        for key, value in (("alg", algorithm), ("nonce", nonce), ("tag", tag)):
            if value is not None:
                params.append((key, value))
        params_raw = _serialize_inner_list(_InnerList(items, tuple(params)))
        base = _signature_base(message, items, params_raw)
    except SignatureError as exc:
        raise ValueError(exc.detail) from exc
    signature = _sign_bytes(alg, private_key, base.encode("ascii"))
    return _with_headers(
        message,
        drop=(),
        add=[
            ("Signature-Input", f"{label}={params_raw}"),
            ("Signature", f"{label}={_serialize_bare(signature)}"),
        ],
    )
