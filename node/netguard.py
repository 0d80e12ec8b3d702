"""The SSRF guard: which addresses outbound requests may reach.

Names are resolved once, by the resolver the connection pool uses, so the address that was
checked is the address connected to (no DNS rebinding between check and connect).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp import ThreadedResolver
from aiohttp.abc import AbstractResolver, ResolveResult


class BlockedDestination(Exception):
    """The URL points at an address this node may not contact."""


def address_allowed(address: str, *, allow_private: bool) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_global:
        return True
    if not allow_private:
        return False
    return not (ip.is_multicast or ip.is_unspecified or ip.is_reserved)


def check_url(url: str, *, allow_private: bool, allow_http: bool) -> None:
    """Refuse non-http(s) URLs and IP literals outside the allowed ranges before connecting."""
    parts = urlsplit(url)
    schemes = {"https", "http"} if allow_http else {"https"}
    if parts.scheme not in schemes:
        raise BlockedDestination(f"{parts.scheme or 'no'} scheme is not allowed for {url}")
    host = parts.hostname
    if not host:
        raise BlockedDestination(f"{url} has no host")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        loopback_name = host == "localhost" or host.endswith(".localhost")
        if loopback_name and not allow_private:
            raise BlockedDestination(f"{host} is a loopback name") from None
        return
    if not address_allowed(host, allow_private=allow_private):
        raise BlockedDestination(f"{host} is not a public address")


class GuardedResolver(AbstractResolver):
    """Resolves like the system resolver, then drops every address the node may not reach."""

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = ThreadedResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = [
            r for r in results if address_allowed(r["host"], allow_private=self._allow_private)
        ]
        if not allowed:
            raise BlockedDestination(f"{host} resolves only to addresses this node may not contact")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
