"""The SSRF guard: which addresses outbound requests may reach.

Names are resolved once, by the resolver the connection pool uses, so the address that was
checked is the address connected to (no DNS rebinding between check and connect).

Public (global) addresses are always allowed. Private and loopback addresses only when the node
allows private networks (local testing and demos), and then, if an allow-list is given, only at
the listed ``host:port`` pairs. Link-local addresses (cloud metadata services live there) and
numeric host spellings other than dotted quads are never allowed.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import ThreadedResolver
from aiohttp.abc import AbstractResolver, ResolveResult

from protocol.errors import ChapterhouseError

# Hosts that some resolvers read as IPv4 although they are not dotted quads:
# 2130706433, 0x7f000001, 017700000001, 127.1, 0177.0.0.1 ...
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}\.?$", re.IGNORECASE)


class BlockedDestination(ChapterhouseError):
    """The URL points at an address this node may not contact."""


@dataclass(frozen=True)
class NetworkPolicy:
    allow_private: bool
    allowlist: frozenset[tuple[str, int]] = frozenset()

    @classmethod
    def from_settings(cls, allow_private: bool, allowlist: str) -> NetworkPolicy:
        pairs = set()
        for entry in filter(None, (e.strip() for e in allowlist.split(","))):
            host, _, port = entry.rpartition(":")
            pairs.add((host.strip("[]").lower(), int(port)))
        return cls(allow_private, frozenset(pairs))

    def allows(self, address: str, port: int) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
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


def _port(scheme: str, port: int | None) -> int:
    return port if port is not None else (443 if scheme == "https" else 80)


def check_url(url: str, *, policy: NetworkPolicy, allow_http: bool) -> None:
    """Refuse odd schemes, numeric tricks and disallowed IP literals before connecting."""
    parts = urlsplit(url)
    schemes = {"https", "http"} if allow_http else {"https"}
    if parts.scheme not in schemes:
        raise BlockedDestination(f"{parts.scheme or 'no'} scheme is not allowed for {url}")
    host = parts.hostname
    if not host:
        raise BlockedDestination(f"{url} has no host")
    try:
        port = _port(parts.scheme, parts.port)
    except ValueError as exc:
        raise BlockedDestination(f"{url} has an invalid port") from exc
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if _NUMERIC_HOST.match(host):
            raise BlockedDestination(f"{host} is a non-canonical numeric address") from None
        if (host == "localhost" or host.endswith(".localhost")) and not policy.allow_private:
            raise BlockedDestination(f"{host} is a loopback name") from None
        return
    if not policy.allows(host, port):
        raise BlockedDestination(f"{host}:{port} is not an address this node may contact")


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
            raise BlockedDestination(f"{host} resolves only to addresses this node may not contact")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
