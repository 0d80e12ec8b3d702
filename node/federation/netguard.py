"""The SSRF guard: which addresses outbound requests may reach.

Three gates, so that what was checked is what is connected to:

1. ``check_url`` normalises the URL the way an HTTP client would (``protocol.hosts``: IDNA /
   UTS #46 mapping, WHATWG IPv4 forms) and judges the normal form; the caller requests exactly
   the URL it returns, so the client has nothing left to reinterpret.
2. ``GuardedResolver``: names are resolved once, by the resolver the connection pool uses, and
   only allowed addresses are kept (no DNS rebinding between check and connect).
3. ``GuardedConnector`` judges every socket address just before it is connected to (IP-literal
   hosts never reach a resolver), and the peer address once connected.

Public (global) addresses are always allowed. Private and loopback addresses only when the node
allows private networks (local testing and demos), and then, if an allow-list is given, only at
the listed ``host:port`` pairs. Link-local addresses (cloud metadata services live there) and
numeric host spellings other than dotted quads are never allowed.

Messages of ``BlockedDestination`` name the host only as the URL spelt it: they reach peers
(a refused key fetch is a 401 detail), so they never carry a resolved or normalised address.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp import ThreadedResolver
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.client_proto import ResponseHandler
from aiohttp.client_reqrep import ClientRequest
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


class GuardedResolver(AbstractResolver):
    """Resolves like the system resolver, then drops every address the node may not reach."""

    def __init__(self, policy: NetworkPolicy) -> None:
        self._inner = ThreadedResolver()
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = [r for r in results if self._policy.allows(r["host"], port)]
        if not allowed:
            refused = ", ".join(sorted({r["host"] for r in results}))
            raise BlockedDestination(
                f"{host} resolves only to addresses this node may not contact",
                f"{host} resolves to {refused}, refused by the network policy",
            )
        return allowed

    async def close(self) -> None:
        await self._inner.close()


class GuardedConnector(aiohttp.TCPConnector):
    """A connection pool that judges every address at connect time.

    aiohttp connects to an IP-literal host without asking the resolver, so the resolver alone
    cannot guard those. The last step before a socket is opened (``_wrap_create_connection``,
    handed the exact addresses to try) is filtered here, and the peer of the opened socket is
    checked once more. Private API of aiohttp 3.10+: ``tests/node/federation/test_netguard.py``
    proves the gate still runs with the installed version.
    """

    def __init__(self, policy: NetworkPolicy, **kwargs: Any) -> None:
        super().__init__(resolver=GuardedResolver(policy), **kwargs)
        self._policy = policy

    async def _wrap_create_connection(
        self,
        *args: Any,
        addr_infos: list[AddrInfoType],
        req: ClientRequest,
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 (aiohttp's own signature)
        client_error: type[Exception] = aiohttp.ClientConnectorError,
        **kwargs: Any,
    ) -> tuple[asyncio.Transport, ResponseHandler]:
        host = req.url.raw_host or ""
        refused = [info for info in addr_infos if not self._allowed(info[4])]
        if refused:
            for info in refused:
                addr_infos.remove(info)  # in place: the caller iterates over the same list
            if not addr_infos:
                raise BlockedDestination(
                    f"{host} is not an address this node may contact",
                    f"{host}: connecting to {refused[0][4][:2]} refused by the network policy",
                )
        transport, protocol = await super()._wrap_create_connection(
            *args,
            addr_infos=addr_infos,
            req=req,
            timeout=timeout,
            client_error=client_error,
            **kwargs,
        )
        peer = transport.get_extra_info("peername")
        if not (isinstance(peer, tuple) and self._allowed(peer)):
            transport.close()
            raise BlockedDestination(
                f"{host} is not an address this node may contact",
                f"{host}: connected peer {peer!r} refused by the network policy",
            )
        return transport, protocol

    def _allowed(self, sockaddr: tuple[Any, ...]) -> bool:
        return (
            len(sockaddr) >= 2
            and isinstance(sockaddr[0], str)
            and isinstance(sockaddr[1], int)
            and self._policy.allows(sockaddr[0], sockaddr[1])
        )
