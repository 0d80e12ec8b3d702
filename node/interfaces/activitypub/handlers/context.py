"""What a handler gets: the node's services and the open unit of work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from node.runtime.services import Services


@dataclass
class HandlerContext:
    services: Services
    session: AsyncSession
    #: Set by a handler that queued deliveries, so the worker is woken after the commit.
    queued_deliveries: bool = False
    #: Best-effort follow-ups that need the network, run after the commit (never inside it).
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
