"""Handles stored inbox items in arrival order, each in its own unit of work."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from node.interfaces.activitypub.handlers import dispatch
from node.interfaces.activitypub.handlers.context import HandlerContext
from node.runtime.services import Services
from protocol.activities import parse_activity
from protocol.errors import ProtocolError
from storage.repositories import inbox as inbox_repo

log = logging.getLogger(__name__)

BATCH = 100
MAX_ATTEMPTS = 5
POLL_SECONDS = 1.0


class InboxWorker:
    def __init__(self, services: Services) -> None:
        self._services = services

    async def run_once(self) -> int:
        """Handle every item waiting now; returns how many were handled."""
        services = self._services
        async with services.db.read() as session:
            items = await inbox_repo.next_received(session, BATCH)
        for item in items:
            committed: HandlerContext | None = None
            try:
                activity = parse_activity(item.body, allow_http=services.settings.allow_http)
                async with services.db.write() as session:
                    if not await inbox_repo.lock_received(session, item.id):
                        continue  # another worker process is handling (or handled) it
                    handling = HandlerContext(services, session)
                    await dispatch(handling, activity)
                    # Done in the same transaction that recorded its follow-ups, never before.
                    await inbox_repo.mark_processed(session, item.id, services.clock.now())
                committed = handling
            except ProtocolError as exc:
                async with services.db.write() as session:
                    await inbox_repo.mark_failed(
                        session, item.id, services.clock.now(), str(exc), final=True
                    )
            except Exception as exc:  # a failing handler must not stop the others
                log.exception("inbox.handler_failed", extra={"activity_id": item.activity_id})
                async with services.db.write() as session:
                    await inbox_repo.mark_failed(
                        session,
                        item.id,
                        services.clock.now(),
                        f"{exc.__class__.__name__}: {exc}",
                        final=item.attempts + 1 >= MAX_ATTEMPTS,
                    )
            if committed is not None:  # wake the workers for what it queued
                committed.wake()
        return len(items)

    async def run(self) -> None:
        wakeup = self._services.wakeups.inbox
        while True:
            wakeup.clear()
            try:
                handled = await self.run_once()
            except Exception:  # the database may be briefly unavailable: keep the loop alive
                log.exception("inbox.loop_failed")
                handled = 0
            if handled >= BATCH:
                continue
            with contextlib.suppress(TimeoutError):  # not wait_for: see DeliveryWorker._flusher
                async with asyncio.timeout(POLL_SECONDS):
                    await wakeup.wait()
