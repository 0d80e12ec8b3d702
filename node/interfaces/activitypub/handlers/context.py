"""What a handler gets: the node's services and the open unit of work."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from node.federation.followups.queue import enqueue
from node.runtime.services import Services
from storage.repositories.follow_ups import NewFollowUp


@dataclass
class HandlerContext:
    services: Services
    session: AsyncSession
    #: Set by a handler that queued deliveries, so the worker is woken after the commit.
    queued_deliveries: bool = False
    #: Set by a handler that recorded follow-ups, so their worker is woken after the commit.
    queued_follow_ups: bool = False

    async def follow_up(self, *items: NewFollowUp) -> None:
        """Record work that needs the network (never done inside the unit of work) as durable
        follow-ups, in this unit of work: the activity is handled only with them recorded."""
        await enqueue(self.session, self.services, *items)
        self.queued_follow_ups = True

    def wake(self) -> None:
        """After the commit: wake the workers for what this unit of work queued."""
        if self.queued_deliveries:
            self.services.wakeups.deliveries.set()
        if self.queued_follow_ups:
            self.services.wakeups.follow_ups.set()
