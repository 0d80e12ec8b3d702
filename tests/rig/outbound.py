"""What a running in-process node tried to reach: every outbound request its client started.

For destinations nobody can listen on in a test (``169.254.169.254``), a server-side hit log
cannot show that no fetch happened; the node's own HTTP client can. This hooks aiohttp's
public tracing into the node's pooled session and records each request start and outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import aiohttp

from tests.rig.nodes import Node


@dataclass
class Outbound:
    method: str
    url: str
    status: int | None = None
    error: BaseException | None = None

    @property
    def guarded(self) -> bool:
        """Stopped by the node's SSRF guard before any connection was made."""
        return self.error is not None and type(self.error).__name__ == "BlockedDestination"


@dataclass
class OutboundLog:
    requests: list[Outbound] = field(default_factory=list)

    def to_host(self, host: str) -> list[Outbound]:
        """Requests whose URL names ``host`` (e.g. ``169.254.169.254`` or ``127.0.0.1:8080``)."""
        return [r for r in self.requests if f"//{host}" in r.url]

    def attempted(self, host: str) -> list[Outbound]:
        """Requests to ``host`` that got past the SSRF guard (a connection was tried)."""
        return [r for r in self.to_host(host) if not r.guarded]


def watch_outbound(node: Node) -> OutboundLog:
    """Start recording the node's outbound requests (until the node stops)."""
    log = OutboundLog()

    async def on_start(
        _session: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        ctx.entry = Outbound(params.method, str(params.url))
        log.requests.append(ctx.entry)

    async def on_end(
        _session: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        ctx.entry.status = params.response.status

    async def on_exception(
        _session: aiohttp.ClientSession,
        ctx: SimpleNamespace,
        params: aiohttp.TraceRequestExceptionParams,
    ) -> None:
        ctx.entry.error = params.exception

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_request_end.append(on_end)
    trace.on_request_exception.append(on_exception)
    trace.freeze()
    node.services.transport.session.trace_configs.append(trace)
    return log
