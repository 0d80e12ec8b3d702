"""What an answer means for a delivery, and recording many outcomes per transaction.

A delivery is sent, retried with backoff, dead, or gone (410: the receiver no longer exists, so
the actor whose inbox it is is marked gone, its follows are removed and the other deliveries
still pending for that inbox are dead-lettered, see ``storage/repositories/gone.py``).
Outcomes are queued in memory only between the answer and the next flush (at most
``FLUSH_SECONDS``): the row's lease covers that gap, so a crash re-sends rather than forgets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from node.federation.transport import PostResult
from node.runtime.config import Settings
from node.runtime.services import Services
from protocol.retry import exponential_backoff
from storage.repositories import deliveries as delivery_repo
from storage.repositories import domains as domain_repo
from storage.repositories import gone as gone_repo
from storage.repositories.deliveries import ClaimedDelivery

log = logging.getLogger(__name__)

#: Repeated 401s are tolerated this many times (a receiver may still hold a rotated key).
MAX_UNAUTHORIZED = 3
MAX_RETRY_AFTER = timedelta(days=1)
FLUSH_BATCH = 500  # outcomes recorded per transaction at most...
FLUSH_SECONDS = 0.2  # ...or after this long
JITTER = 0.25  # retries spread by up to this fraction of their delay


class OutcomeKind(StrEnum):
    SENT = "sent"
    GONE = "gone"
    RETRY = "retry"
    DEAD = "dead"


def classify(result: PostResult, attempts: int) -> OutcomeKind:
    """What one answer means for a delivery that has had ``attempts`` before it."""
    if 200 <= result.status < 300:
        return OutcomeKind.SENT
    if result.status == 410:
        return OutcomeKind.GONE
    if result.status in {408, 429} or result.status >= 500:
        return OutcomeKind.RETRY
    if result.status == 401 and attempts + 1 < MAX_UNAUTHORIZED:
        return OutcomeKind.RETRY
    return OutcomeKind.DEAD


def backoff(settings: Settings, attempt: int, jitter: float) -> timedelta | None:
    """How long a failed delivery waits before attempt number ``attempt`` (1-based; ``jitter``
    in [0, JITTER)), or None once the attempts are used up (pure: bench/planet applies it too)."""
    return exponential_backoff(
        attempt,
        base=timedelta(seconds=settings.delivery_retry_base_seconds),
        cap=timedelta(seconds=settings.delivery_retry_cap_seconds),
        max_attempts=settings.delivery_max_attempts,
        jitter=jitter,
    )


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as seconds or an HTTP date, capped at a day."""
    if not value:
        return None
    text = value.strip()
    delay: timedelta | None = None
    if text.isdigit():
        delay = timedelta(seconds=int(text))
    else:
        with contextlib.suppress(TypeError, ValueError, IndexError):
            delay = parsedate_to_datetime(text) - now
    if delay is None:
        return None
    return min(max(delay, timedelta(0)), MAX_RETRY_AFTER)


@dataclass(slots=True)
class Outcome:
    row: ClaimedDelivery
    outcome: OutcomeKind
    status: int | None
    error: str
    host_failed: bool = False
    delay: timedelta | None = None


class OutcomeRecorder:
    """Collects outcomes and writes them in batches: one commit for many rows."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._outcomes: list[Outcome] = []
        self.flush_now = asyncio.Event()
        self._failing_hosts: set[str] = set()

    async def load_failing_hosts(self) -> None:
        async with self._services.db.read() as session:
            self._failing_hosts = await domain_repo.failing_hosts(session)

    def queue(self, outcome: Outcome) -> None:
        self._outcomes.append(outcome)
        if len(self._outcomes) >= FLUSH_BATCH:
            self.flush_now.set()

    async def flush(self) -> None:
        """Record every finished delivery in one transaction."""
        if not self._outcomes:
            return
        batch, self._outcomes = self._outcomes, []
        try:
            await self._record(batch)
        except Exception:
            self._outcomes = batch + self._outcomes  # nothing is forgotten; the next flush retries
            raise

    async def run(self) -> None:
        """Flush when woken (a burst ended, a batch filled) or every ``FLUSH_SECONDS``."""
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
            # that lands as the event fires, and the loop would then never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FLUSH_SECONDS):
                    await self.flush_now.wait()
            self.flush_now.clear()
            try:
                await self.flush()
            except Exception:  # keep the outcomes for the next try rather than lose them
                log.exception("delivery.flush_failed")

    async def _record(self, batch: list[Outcome]) -> None:
        services = self._services
        now = services.clock.now()
        unavailable_after = timedelta(seconds=services.settings.domain_unavailable_after_seconds)
        async with services.db.write() as session:
            sent_by_status: defaultdict[int, list[int]] = defaultdict(list)
            for o in batch:
                if o.outcome is OutcomeKind.SENT:
                    sent_by_status[o.status or 200].append(o.row.id)
            for status, ids in sent_by_status.items():
                await delivery_repo.mark_sent(session, ids, now=now, status=status)
            for o in batch:
                if o.outcome is OutcomeKind.DEAD:
                    await delivery_repo.mark_dead(session, o.row.id, status=o.status, error=o.error)
                if o.outcome is OutcomeKind.GONE:
                    await delivery_repo.mark_dead(
                        session, o.row.id, status=o.status, error=f"{gone_repo.GONE}: {o.error}"
                    )
                    gone = await gone_repo.inbox_gone(session, o.row.inbox, now, o.error)
                    log.info(
                        "delivery.gone",
                        extra={
                            "inbox": o.row.inbox,
                            "actors": gone.actors,
                            "follows_removed": gone.follows_removed,
                            "deliveries_stopped": gone.deliveries_stopped,
                        },
                    )
                if o.outcome is OutcomeKind.RETRY:
                    await self._reschedule(session, o, now)
            for host in {o.row.host for o in batch if o.host_failed}:
                self._failing_hosts.add(host)
                if await domain_repo.record_failure(session, host, now, unavailable_after):
                    log.warning("domain.unavailable", extra={"host": host})
                    services.unavailable_hosts.add(host)
            answered = {
                o.row.host for o in batch if o.outcome is not OutcomeKind.RETRY or o.status == 429
            }
            for host in answered & self._failing_hosts:
                # Any answer but a server error shows the host is up again.
                await domain_repo.record_success(session, host, now)
                self._failing_hosts.discard(host)
                services.unavailable_hosts.discard(host)

    async def _reschedule(self, session: AsyncSession, o: Outcome, now: datetime) -> None:
        settings = self._services.settings
        delay = o.delay
        if delay is None:
            delay = backoff(settings, o.row.attempts + 1, random.random() * JITTER)
        if delay is None:
            await delivery_repo.mark_dead(
                session,
                o.row.id,
                status=o.status,
                error=f"gave up after {o.row.attempts + 1} attempts: {o.error}",
            )
        else:
            await delivery_repo.mark_retry(
                session, o.row.id, next_attempt_at=now + delay, status=o.status, error=o.error
            )
