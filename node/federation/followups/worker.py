"""The follow-up worker: claim due rows, run each kind's handler, record what happened.

Up to ``follow_up_concurrency`` follow-ups run at once, at most ``follow_up_per_host`` for one
host (the host the work talks to), so a rollup naming thousands of reports on one server costs
that server two requests at a time, and other hosts' work goes on beside it. A handler that
raises is tried again with exponential backoff and jitter (``protocol.retry``), up to
``follow_up_max_attempts`` attempts in all; ``PermanentFailure`` is dead at once. Each run is
cut off after ``follow_up_timeout_seconds`` (then retried). A crashed worker's leases expire
and its rows are claimed again, so handlers must be idempotent (the inbox's are).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from node.federation.followups.queue import FollowUpHandler, PermanentFailure
from node.runtime.services import Services
from protocol.errors import ChapterhouseError
from protocol.retry import exponential_backoff
from storage.repositories import follow_ups as follow_up_repo
from storage.repositories.follow_ups import ClaimedFollowUp

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # how often the loop looks for rows that became due without a wake-up
JITTER = 0.25  # retries spread over up to this fraction of their delay


@dataclass(frozen=True, slots=True)
class Failure:
    error: str
    permanent: bool


class FollowUpWorker:
    def __init__(self, services: Services, handlers: Mapping[str, FollowUpHandler]) -> None:
        self._services = services
        self._handlers = dict(handlers)
        self._in_flight: Counter[str] = Counter()  # per host

    # -- claiming -----------------------------------------------------------------------------
    async def _claim(self, free: int) -> list[ClaimedFollowUp]:
        """Lease up to ``free`` due rows, keeping every host within its cap."""
        settings = self._services.settings
        cap = settings.follow_up_per_host
        busy = {host for host, n in self._in_flight.items() if n >= cap}
        lease = timedelta(seconds=settings.follow_up_lease_seconds)
        async with self._services.db.write() as session:
            rows = await follow_up_repo.claim_due(
                session, now=self._services.clock.now(), lease=lease, limit=free, busy_hosts=busy
            )
            per_host = Counter(self._in_flight)
            taken: list[ClaimedFollowUp] = []
            extra: list[int] = []
            for row in rows:
                if per_host[row.host] >= cap:
                    extra.append(row.id)
                else:
                    per_host[row.host] += 1
                    taken.append(row)
            await follow_up_repo.release(session, extra)
        for row in taken:  # leased (committed): counted in until each run has finished
            self._in_flight[row.host] += 1
        return taken

    def _free(self) -> int:
        return self._services.settings.follow_up_concurrency - sum(self._in_flight.values())

    # -- running ------------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Claim what is due now (within the caps) and run it all; returns how many ran."""
        rows = await self._claim(self._free())
        await asyncio.gather(*(self._run(row) for row in rows))
        return len(rows)

    async def run(self) -> None:
        """Keep up to ``follow_up_concurrency`` follow-ups running; a finished one makes room
        for the next at once. Woken by ``services.wakeups.follow_ups``, else polls."""
        wakeup = self._services.wakeups.follow_ups
        freed = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()

        def finished(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            freed.set()

        try:
            while True:
                wakeup.clear()
                freed.clear()
                started = 0
                if self._free() > 0:
                    try:
                        rows = await self._claim(self._free())
                    except Exception:  # the database may be briefly busy: keep the loop alive
                        log.exception("follow_up.loop_failed")
                        rows = []
                    for row in rows:
                        task = asyncio.create_task(self._run(row), name=f"follow-up-{row.id}")
                        tasks.add(task)
                        task.add_done_callback(finished)
                    started = len(rows)
                if started and self._free() > 0:
                    continue  # more may be due at once (for hosts not at their cap)
                waiters = [
                    asyncio.ensure_future(wakeup.wait()),
                    asyncio.ensure_future(freed.wait()),
                ]
                try:
                    await asyncio.wait(
                        waiters, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    for waiter in waiters:
                        waiter.cancel()
        finally:
            for task in list(tasks):
                task.remove_done_callback(finished)
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, row: ClaimedFollowUp) -> None:
        try:
            failure = await self._attempt(row)
            try:
                await self._record(row, failure)
            except Exception:  # the lease expires and the row is claimed again
                log.exception("follow_up.record_failed", extra={"follow_up": row.id})
        except asyncio.CancelledError:  # shutting down: give the row back for the next start
            with contextlib.suppress(Exception):
                async with self._services.db.write() as session:
                    await follow_up_repo.release(session, [row.id])
            raise
        finally:
            self._in_flight[row.host] -= 1
            if self._in_flight[row.host] <= 0:
                del self._in_flight[row.host]

    async def _attempt(self, row: ClaimedFollowUp) -> Failure | None:
        handler = self._handlers.get(row.kind)
        if handler is None:
            return Failure(f"no handler for follow-ups of kind {row.kind!r}", permanent=True)
        timeout = self._services.settings.follow_up_timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                await handler(self._services, row.payload)
        except PermanentFailure as exc:
            return Failure(str(exc) or exc.__class__.__name__, permanent=True)
        except TimeoutError:
            return Failure(f"not finished within {timeout:g} s", permanent=False)
        except ChapterhouseError as exc:  # expected: an unreachable origin, a busy peer
            return Failure(f"{exc.__class__.__name__}: {exc}", permanent=False)
        except Exception as exc:
            log.exception("follow_up.error", extra={"follow_up": row.id, "kind": row.kind})
            return Failure(f"{exc.__class__.__name__}: {exc}", permanent=False)
        return None

    async def _record(self, row: ClaimedFollowUp, failure: Failure | None) -> None:
        settings = self._services.settings
        now = self._services.clock.now()
        extra = {"follow_up": row.id, "kind": row.kind, "host": row.host}
        async with self._services.db.write() as session:
            if failure is None:
                await follow_up_repo.mark_done(session, row.id, now=now)
                return
            attempt = row.attempts + 1
            delay = None
            if not failure.permanent:
                delay = exponential_backoff(
                    attempt,
                    base=timedelta(seconds=settings.follow_up_retry_base_seconds),
                    cap=timedelta(seconds=settings.follow_up_retry_cap_seconds),
                    max_attempts=settings.follow_up_max_attempts - 1,
                    jitter=random.random() * JITTER,
                )
            if delay is None:
                error = failure.error
                if not failure.permanent:
                    error = f"gave up after {attempt} attempts: {error}"
                await follow_up_repo.mark_dead(session, row.id, now=now, error=error)
                log.warning("follow_up.dead", extra={**extra, "error": error})
                return
            await follow_up_repo.mark_retry(
                session, row.id, now=now, next_attempt_at=now + delay, error=failure.error
            )
            log.info("follow_up.retry", extra={**extra, "attempt": attempt, "error": failure.error})
