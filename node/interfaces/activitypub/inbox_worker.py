"""Handles stored inbox items in arrival order, each in its own unit of work.

An item whose handler fails waits before it is tried again (exponential backoff, the curve of
``protocol/retry.py`` with the ``inbox_retry_*`` settings) while the items behind it are
handled; after ``inbox_max_attempts`` it is failed for good. An item that cannot be parsed
fails for good at once: trying again would not change it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import datetime, timedelta

from node.interfaces.activitypub.handlers import dispatch
from node.interfaces.activitypub.handlers.context import HandlerContext
from node.runtime.services import Services
from protocol.activities import parse_activity
from protocol.errors import ProtocolError
from protocol.retry import exponential_backoff
from storage.repositories import inbox as inbox_repo

log = logging.getLogger(__name__)

BATCH = 100
POLL_SECONDS = 1.0


class InboxWorker:
    def __init__(self, services: Services) -> None:
        self._services = services

    async def run_once(self) -> int:
        """Handle every item waiting now; returns how many were handled."""
        services = self._services
        async with services.db.read() as session:
            items = await inbox_repo.next_received(session, BATCH, now=services.clock.now())
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
                now = services.clock.now()
                retry_at = self._retry_at(item.attempts + 1, now)
                async with services.db.write() as session:
                    await inbox_repo.mark_failed(
                        session,
                        item.id,
                        now,
                        f"{exc.__class__.__name__}: {exc}",
                        final=retry_at is None,
                        next_attempt_at=retry_at,
                    )
            if committed is not None:  # wake the workers for what it queued
                committed.wake()
        return len(items)

    def _retry_at(self, failures: int, now: datetime) -> datetime | None:
        """When an item that has failed ``failures`` times is tried again; None: never."""
        settings = self._services.settings
        if failures >= settings.inbox_max_attempts:
            return None
        delay = exponential_backoff(
            failures,
            base=timedelta(seconds=settings.inbox_retry_base_seconds),
            cap=timedelta(seconds=settings.inbox_retry_cap_seconds),
            max_attempts=settings.inbox_max_attempts,
            jitter=random.random() * 0.25,  # spreads retries that failed together
        )
        return None if delay is None else now + delay

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
