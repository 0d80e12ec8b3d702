"""HTTP messages as signatures see them: values, not live aiohttp objects.

Signing and verifying stay pure because the caller copies the method, absolute URL, header lines
and body into these values; everything a scheme needs from the message is derived here, once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Final
from urllib.parse import urlsplit

from protocol.errors import MalformedDocument
from protocol.httpsig.failures import malformed

_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def _normalise_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
) -> tuple[tuple[str, str], ...]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return tuple((str(name), str(value)) for name, value in pairs)


def field_value(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    """Case-insensitive field lookup; repeated fields are joined with ``", "``.

    RFC 9421 §2.1 and cavage-12 §2.3 agree: trim each field line, join repeats with ``", "``.
    """
    wanted = name.lower()
    values = [value.strip() for key, value in headers if key.lower() == wanted]
    return ", ".join(values) if values else None


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A request as signatures see it; ``url`` is absolute (scheme, host[:port], path, query)."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None = None

    def header(self, name: str) -> str | None:
        """Case-insensitive field lookup; repeated fields are joined with ``", "``."""
        return field_value(self.headers, name)

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
        return field_value(self.headers, name)

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
class Target:
    """The request URL split the way both schemes name its parts (authority normalised)."""

    uri: str
    scheme: str
    authority: str
    path: str
    query: str

    @property
    def path_and_query(self) -> str:
        """``/path?query``: cavage's ``(request-target)`` and RFC 9421's ``@request-target``."""
        return self.path + (f"?{self.query}" if self.query else "")


def request_target(url: str) -> Target:
    """Split an absolute http(s) URL; anything else is ``MalformedDocument`` (a caller bug or
    a hostile request line), never a guess."""
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
    return Target(
        uri=uri,
        scheme=scheme,
        authority=_authority(host, port, scheme),
        path=parts.path or "/",
        query=parts.query,
    )


def _authority(host: str, port: int | None, scheme: str) -> str:
    host = f"[{host}]" if ":" in host else host.lower()
    return host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"


def host_header_authority(value: str, scheme: str) -> str | None:
    """A ``Host`` value normalised like a URL authority, so the two can be compared."""
    try:
        parts = urlsplit(f"//{value.strip()}")
        port = parts.port
    except ValueError:
        return None
    return _authority(parts.hostname, port, scheme) if parts.hostname else None


def with_headers(
    request: HttpRequest, *, drop: Collection[str], add: Iterable[tuple[str, str]]
) -> HttpRequest:
    """A copy without the ``drop`` fields (any case) and with ``add`` appended."""
    dropped = {name.lower() for name in drop}
    kept = tuple((k, v) for k, v in request.headers if k.lower() not in dropped)
    return replace(request, headers=kept + tuple(add))


def has_body(request: HttpRequest) -> bool:
    """Body-bearing requests must carry a signed digest; a POST without a body still counts."""
    return bool(request.body) or request.method.upper() in _BODY_METHODS


def single_line(value: str, name: str) -> str:
    """A covered value with a line break would forge extra lines in the signed text."""
    if "\n" in value or "\r" in value:
        raise malformed(f"value of {name} contains a line break")
    return value
