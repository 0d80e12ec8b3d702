"""Identifiers are URLs: parsing, normalising, origins, and minting local ids.

Authority is decided by origin (scheme, IDNA-normalised lower-case host, port), so every
comparison goes through :func:`origin_of` rather than string prefixes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Final, NewType
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit

from protocol.errors import MalformedDocument

ObjectId = NewType("ObjectId", str)

MAX_ID_LENGTH: Final = 2048
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_LOCAL_NAME: Final = re.compile(r"^[a-z0-9_][a-z0-9_.-]{0,62}$")
_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: Whitespace (``str.isspace``: ``\s`` matches the same characters) or a control character.
_SPACE_OR_CONTROL: Final = re.compile(r"[\s\x00-\x1f]")
#: Parsed ids are memoised: actor and key ids recur with every activity a peer sends, and an
#: activity's own ids are checked again by the origin rules. Results are immutable; malformed
#: ids raise and are not cached.
_ID_CACHE_SIZE: Final = 4096
#: An http(s) URL in normal form: lower-case scheme and ASCII host, no credentials, no default
#: or zero-padded port, printable ASCII only, no empty query or fragment (normalising drops those).
_CANONICAL: Final = re.compile(
    r"(https?)://([a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?)(?::([1-9][0-9]{0,4}))?"
    r"(?:/[!-\"$->@-~]*)?(?:\?[!-\"$-~]+)?(?:#[!-~]+)?"
)


@dataclass(frozen=True, slots=True)
class Origin:
    """The (scheme, host, port) triple that authority checks compare."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        default = _DEFAULT_PORTS.get(self.scheme)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")

    @property
    def authority(self) -> str:
        """``host`` or ``host:port`` (default ports left out), as in ``Host`` headers."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _DEFAULT_PORTS.get(self.scheme) else f"{host}:{self.port}"


def _normalise_host(host: str) -> str:
    if host.isascii():
        return host.lower()
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise MalformedDocument(f"host {host!r} is not a valid domain name") from exc


def _split(value: str, *, allow_http: bool) -> tuple[SplitResult, str, int | None]:
    """The URL's parts, host and port, or MalformedDocument saying what is wrong with it."""
    if not value:
        raise MalformedDocument("id must be a non-empty string")
    if len(value) > MAX_ID_LENGTH:
        raise MalformedDocument(f"id is longer than {MAX_ID_LENGTH} characters")
    if _SPACE_OR_CONTROL.search(value):
        raise MalformedDocument("id contains whitespace or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise MalformedDocument(f"id {value!r} is not a URL") from exc
    allowed = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in allowed:
        raise MalformedDocument(f"id {value!r} must use {' or '.join(allowed)}")
    host = parts.hostname
    if not host:
        raise MalformedDocument(f"id {value!r} has no host")
    if "@" in parts.netloc:  # what makes urllib see a username (and maybe a password)
        raise MalformedDocument(f"id {value!r} must not carry credentials")
    return parts, host, port


def parse_id(value: object, *, allow_http: bool = False) -> ObjectId:
    """Validate an id and return it normalised (lower-case scheme and host, no default port)."""
    if not isinstance(value, str):
        raise MalformedDocument("id must be a string")
    return ObjectId(_parsed(value, allow_http)[1])


def origin_of(value: str, *, allow_http: bool = True) -> Origin:
    """The origin of a URL; raises MalformedDocument when it is not an http(s) URL."""
    return _parsed(value, allow_http)[0]


def _parsed(value: str, allow_http: bool) -> tuple[Origin, str]:
    """Origin and normalised form: ids in normal form are recognised at once; others are
    checked once (memoised) under the laxer policy."""
    origin = _canonical(value)
    normalised = value
    if origin is None:
        try:
            origin, normalised = _normal_form(value)
        except MalformedDocument:
            _split(value, allow_http=allow_http)  # raises with this policy's own message
            raise
    if origin.scheme != "https" and not allow_http:
        raise MalformedDocument(f"id {value!r} must use https")
    return origin, normalised


@lru_cache(maxsize=_ID_CACHE_SIZE)
def _normal_form(value: str) -> tuple[Origin, str]:
    """Origin and normal form of any id (raises MalformedDocument for what is not one)."""
    parts, hostname, port = _split(value, allow_http=True)
    scheme = parts.scheme.lower()
    origin = Origin(
        scheme, _normalise_host(hostname), _DEFAULT_PORTS[scheme] if port is None else port
    )
    netloc = str(origin).split("://", 1)[1]
    normalised = urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))
    return origin, value if normalised == value else normalised


@lru_cache(maxsize=_ID_CACHE_SIZE)
def _canonical(value: str) -> Origin | None:
    """The origin of an id already in normal form, or None when the full check must decide.

    One regular expression recognises the common shape (memoised: an activity's ids are
    checked again by the origin rules, and actor and key ids recur), and anything it does not
    match
    (other ports, upper case, IDNA, IPv6, credentials, empty query or fragment...) takes the
    general path (``_normal_form``); ``tests/protocol/test_ids.py`` checks both agree.
    """
    match = _CANONICAL.fullmatch(value)
    if match is None or len(value) > MAX_ID_LENGTH:
        return None
    scheme, host, port_text = match.groups()
    default = _DEFAULT_PORTS[scheme]
    if port_text is None:
        return _origin(scheme, host, default)
    port = int(port_text)
    if port == default or port > 65535:
        return None
    return _origin(scheme, host, port)


@lru_cache(maxsize=_ID_CACHE_SIZE)
def _origin(scheme: str, host: str, port: int) -> Origin:
    """Origins are few (one per peer) and immutable: each is built once."""
    return Origin(scheme, host, port)


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs share scheme, host and port; malformed URLs never match."""
    try:
        return origin_of(a) == origin_of(b)
    except MalformedDocument:
        return False


def authority_of(value: str) -> str:
    """``host`` or ``host:port`` as used in ``acct:`` handles and ``Host`` headers."""
    return origin_of(value).authority


def validate_local_name(name: str) -> str:
    """Local actor names become URL path segments and ``acct:`` users: keep them boring."""
    if not _LOCAL_NAME.match(name):
        raise MalformedDocument(
            "name must be 1-63 characters of lower-case letters, digits, '_', '.' or '-', "
            "starting with a letter, digit or '_'"
        )
    return name


def make_ulid(now: datetime, entropy: bytes) -> str:
    """A ULID (time-sortable id) from an aware timestamp and 10 bytes of caller-given entropy."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if len(entropy) != 10:
        raise ValueError("entropy must be 10 bytes")
    value = (int(now.timestamp() * 1000) << 80) | int.from_bytes(entropy, "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def ulid_time(ulid: str) -> datetime:
    """The instant a ULID made by :func:`make_ulid` was minted (to the millisecond)."""
    if len(ulid) != 26 or any(c not in _CROCKFORD for c in ulid):
        raise MalformedDocument(f"{ulid!r:.40} is not a ULID")
    millis = 0
    for char in ulid[:10]:
        millis = (millis << 5) | _CROCKFORD.index(char)
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


@dataclass(frozen=True, slots=True)
class IdFactory:
    """Mints every local URL from the node's base URL (never from global config)."""

    base_url: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @property
    def origin(self) -> Origin:
        return origin_of(self.base_url)

    @property
    def authority(self) -> str:
        return authority_of(self.base_url)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def actor(self, name: str) -> str:
        return self.url(f"actors/{quote(name, safe='')}")

    def actor_part(self, name: str, part: str) -> str:
        return f"{self.actor(name)}/{part}"

    def main_key(self, name: str) -> str:
        return f"{self.actor(name)}#main-key"

    def ed25519_key(self, name: str) -> str:
        return f"{self.actor(name)}#ed25519-key"

    def instance_actor(self) -> str:
        return self.url("actor")

    def shared_inbox(self) -> str:
        return self.url("inbox")

    def activity(self, ulid: str) -> str:
        return self.url(f"activities/{ulid}")

    def local_name(self, actor_id: str) -> str | None:
        """The local actor name an id points at, or None when it is not a local actor id."""
        prefix = self.url("actors/")
        if not actor_id.startswith(prefix):
            return None
        rest = actor_id[len(prefix) :]
        if not rest or "/" in rest or "#" in rest or "?" in rest:
            return None
        return rest
