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

The policy and gate 1 live in ``node.federation.netpolicy`` (re-exported here), which imports no
aiohttp: a command line run opens a transport without ever building the client.

Messages of ``BlockedDestination`` name the host only as the URL spelt it: they reach peers
(a refused key fetch is a 401 detail), so they never carry a resolved or normalised address.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp import ThreadedResolver
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.client_proto import ResponseHandler
from aiohttp.client_reqrep import ClientRequest

from node.federation.netpolicy import (
    BlockedDestination,
    Destination,
    NetworkPolicy,
    address_allowed,
    check_url,
    normalise_url,
)

__all__ = [
    "BlockedDestination",
    "Destination",
    "GuardedConnector",
    "GuardedResolver",
    "NetworkPolicy",
    "address_allowed",
    "check_url",
    "normalise_url",
]


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
