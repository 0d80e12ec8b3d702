"""What a handler gets: the node's services and the open unit of work."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from node.services import Services


@dataclass
class HandlerContext:
    services: Services
    session: AsyncSession
    #: Set by a handler that queued deliveries, so the worker is woken after the commit.
    queued_deliveries: bool = False
