"""The SSRF guard's policy and its first gate, apart from the connection pool that enforces it
(``node.federation.netguard``, which re-exports these names).

What may be contacted is decided here, from the standard library, ``yarl`` and ``protocol.hosts``
alone; the gates that need aiohttp (the resolver and the connector) live in ``netguard``. So the
transport can judge and normalise a URL, and every command line run can open a transport, without
importing aiohttp: the client is built at the first request (``node.federation.transport``).
See ``netguard`` for the three gates and the policy they share.
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from yarl import URL

from protocol.errors import ChapterhouseError
from protocol.hosts import InvalidHost, normalise_host

_DEFAULT_PORTS = {"http": 80, "https": 443}


class BlockedDestination(ChapterhouseError):
    """The URL points at an address this node may not contact. ``str()`` is safe to show to
    the peer that named the URL; ``detail`` (for logs) may name the address itself."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail or message


@dataclass(frozen=True)
class NetworkPolicy:
    allow_private: bool
    allowlist: frozenset[tuple[str, int]] = frozenset()

    @classmethod
    def from_settings(cls, allow_private: bool, allowlist: str) -> NetworkPolicy:
        pairs = set()
        for entry in filter(None, (e.strip() for e in allowlist.split(","))):
            host, _, port = entry.rpartition(":")
            host = host.strip().strip("[]").lower()
            with contextlib.suppress(ValueError):  # "::0001" and "::1" are one address
                host = str(ipaddress.ip_address(host))
            pairs.add((host, int(port)))
        return cls(allow_private, frozenset(pairs))

    def allows(self, address: str, port: int) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            else:  # 6to4 and Teredo carry an IPv4 address that a relay would reach for us
                embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
                if embedded is not None and not self.allows(str(embedded), port):
                    return False
        if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
            return False
        if ip.is_global:
            return True
        if not self.allow_private:
            return False
        return not self.allowlist or (str(ip), port) in self.allowlist


def address_allowed(address: str, *, allow_private: bool) -> bool:
    """Whether an address is reachable under a policy without an allow-list."""
    return NetworkPolicy(allow_private).allows(address, 0)


@dataclass(frozen=True, slots=True)
class Destination:
    """A URL in the form the client is handed: lower-case scheme, normalised host (ASCII DNS
    name, IPv4 dotted quad or ``[IPv6]``), no default port, no credentials, no fragment."""

    url: str
    scheme: str
    host: str
    port: int
    given: str  # the host as the URL spelt it (what messages name)

    @property
    def address(self) -> str | None:
        """The IP address when the host is one (IPv6 without brackets), else ``None``."""
        host = self.host.strip("[]")
        try:
            return str(ipaddress.ip_address(host))
        except ValueError:
            return None


def normalise_url(url: str, *, allow_http: bool) -> Destination:
    """The URL as an HTTP client would read it, or ``BlockedDestination`` when it is not a
    URL this node may request at all (scheme, credentials, port or host)."""
    if any(ch <= " " or ch == "\x7f" for ch in url):
        raise BlockedDestination("the URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise BlockedDestination("the URL cannot be parsed") from exc
    schemes = {"https", "http"} if allow_http else {"https"}
    if parts.scheme not in schemes:
        raise BlockedDestination(f"{parts.scheme or 'no'} scheme is not allowed for {url}")
    netloc = parts.netloc
    if not netloc:
        raise BlockedDestination(f"{url} has no host")
    if "@" in netloc:
        raise BlockedDestination(f"{url} must not carry credentials")
    given, port_text = _split_authority(netloc, url)
    default = _DEFAULT_PORTS[parts.scheme]
    port = default
    if port_text:
        if not (port_text.isascii() and port_text.isdigit() and int(port_text) <= 65535):
            raise BlockedDestination(f"{url} has an invalid port")
        port = int(port_text)
    try:
        host = normalise_host(given)
    except InvalidHost as exc:
        raise BlockedDestination(f"{given} is not a valid host: {exc}") from exc
    authority = host if port == default else f"{host}:{port}"
    normal = urlunsplit((parts.scheme, authority, parts.path, parts.query, ""))
    # The client's own parser must see the very host and port that were checked.
    try:
        seen = URL(normal)
        agree = (seen.scheme, seen.raw_host, seen.port) == (parts.scheme, host.strip("[]"), port)
    except (ValueError, TypeError):
        agree = False
    if not agree:
        raise BlockedDestination(f"{url} does not read the same to every URL parser")
    return Destination(normal, parts.scheme, host, port, given)


def _split_authority(netloc: str, url: str) -> tuple[str, str]:
    """``host`` (IPv6 with its brackets) and the port text (maybe empty) of an authority."""
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise BlockedDestination(f"{url} has an unterminated IPv6 address")
        host, rest = netloc[: end + 1], netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            raise BlockedDestination(f"{url} has text after its IPv6 address")
        return host, rest[1:]
    host, _, port_text = netloc.partition(":")
    return host, port_text


def check_url(url: str, *, policy: NetworkPolicy, allow_http: bool) -> str:
    """Refuse odd schemes, odd hosts and disallowed IP literals before connecting; returns the
    normalised URL, which is the one to request."""
    dest = normalise_url(url, allow_http=allow_http)
    given = dest.given
    address = dest.address
    if address is None:
        if (dest.host == "localhost" or dest.host.endswith(".localhost")) and not (
            policy.allow_private
        ):
            raise BlockedDestination(f"{given} is a loopback name", f"{dest.host} is loopback")
        return dest.url
    if ":" not in address and given.lower() != address:
        # 127.1, 0x7f.1, 2130706433, fullwidth or circled digits...: no honest peer writes these.
        raise BlockedDestination(
            f"{given} is a non-canonical numeric address", f"{given} reads as {address}"
        )
    if not policy.allows(address, dest.port):
        raise BlockedDestination(
            f"{given}:{dest.port} is not an address this node may contact",
            f"{address}:{dest.port} is refused by the network policy",
        )
    return dest.url
