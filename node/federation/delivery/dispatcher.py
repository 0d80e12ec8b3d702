"""The delivery worker: claim due rows, sign at send time, POST, record the outcome.

A dispatcher keeps up to ``delivery_concurrency`` deliveries in flight, at most
``delivery_per_host`` per host, and starts the next leased row as soon as any finishes. A
delivery still unanswered after ``SET_ASIDE_AFTER`` gives its slot up (up to as many again wait
that way), so one slow or dead host never holds back the others. Rows are leased in large
claims (each costs several event-loop turns under load) and topped up well before they run out.
Rows are signed when sent, so every retry carries a fresh Date and the actor's current key.

On shutdown the deliveries still in flight are cancelled and awaited, and their rows are given
back (due at once, the attempt not charged) with the rows that were waiting: a restarted node
sends them at once instead of after the lease. A receiver that got the request before the
cancellation gets it again; receivers de-duplicate by activity id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from node.federation.delivery.outcomes import (
    Outcome,
    OutcomeKind,
    OutcomeRecorder,
    classify,
    retry_after,
)
from node.federation.delivery.ready_rows import ReadyRows
from node.federation.delivery.signers import SchemeCache, SignerCache
from node.federation.transport import CAVAGE, RFC9421, FetchError, PostResult
from node.runtime.config import Settings
from node.runtime.services import Services
from storage.repositories import deliveries as delivery_repo
from storage.repositories.deliveries import ClaimedDelivery

log = logging.getLogger(__name__)

CLAIM_FACTOR = 64  # rows leased per claim at most, as a multiple of the concurrency...
REFILL_FACTOR = 8  # ...when no more than this multiple is waiting
READY_PER_HOST = 16  # rows leased per host at most, as a multiple of its concurrency cap
SET_ASIDE_AFTER = 0.05  # seconds after which a delivery still in flight stops taking a slot
SHUTDOWN_GRACE = 5.0  # seconds cancelled deliveries get to wind down (closing their requests)

Observer = Callable[[str, float], None]
CANCELLED = "cancelled"  # not an outcome: the delivery was interrupted (never observed)


class DeliveryWorker:
    def __init__(self, services: Services, observe: Observer | None = None) -> None:
        self._services = services
        self._observe = observe
        self._in_flight: Counter[str] = Counter()
        self.signers = SignerCache(services)
        self.schemes = SchemeCache(services)
        self.outcomes = OutcomeRecorder(services)

    # -- settings -------------------------------------------------------------------------
    @property
    def _settings(self) -> Settings:
        return self._services.settings

    def _lease(self) -> timedelta:
        return timedelta(seconds=self._settings.delivery_lease_seconds)

    # -- claiming ---------------------------------------------------------------------------
    async def _claim(
        self, free: int, allowance: int, waiting: Counter[str]
    ) -> list[ClaimedDelivery]:
        """Lease up to ``free`` rows, at most ``allowance`` per host counting rows in flight and
        rows already ``waiting`` (so few leased rows ever wait on a slow host)."""
        settings = self._settings
        per_host = self._in_flight + waiting
        busy = {h for h, n in per_host.items() if n >= allowance}
        now = self._services.clock.now()
        async with self._services.db.write() as session:
            rows = await delivery_repo.claim_due(
                session,
                now=now,
                lease=self._lease(),
                limit=free,
                busy_hosts=busy,
                probe_interval=timedelta(seconds=settings.domain_probe_seconds),
            )
            taken: list[ClaimedDelivery] = []
            extra: list[int] = []
            for row in rows:
                if per_host[row.host] >= allowance:
                    extra.append(row.id)
                else:
                    per_host[row.host] += 1
                    taken.append(row)
            await delivery_repo.release(session, extra)
        return taken

    async def _expire(self) -> None:
        cutoff = self._services.clock.now() - timedelta(
            seconds=self._settings.delivery_max_age_seconds
        )
        async with self._services.db.write() as session:
            expired = await delivery_repo.expire_older_than(
                session, cutoff, "dead-lettered: not delivered within the maximum age"
            )
        if expired:
            log.warning("delivery.expired", extra={"rows": expired})

    async def run_once(self) -> int:
        """Claim what is due now and deliver it all (tests drive the worker this way)."""
        await self._expire()
        settings = self._settings
        rows = await self._claim(
            settings.delivery_concurrency, settings.delivery_per_host, Counter()
        )
        for row in rows:
            self._in_flight[row.host] += 1
        await asyncio.gather(*(self._deliver(row) for row in rows))
        await self.outcomes.flush()
        return len(rows)

    async def run(self) -> None:
        await self.outcomes.load_failing_hosts()
        flusher = asyncio.create_task(self.outcomes.run())
        try:
            await self._dispatch()
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await self.outcomes.flush()

    async def _dispatch(self) -> None:
        """Keep ``delivery_concurrency`` deliveries in flight from a queue of leased rows.

        A finishing delivery starts the next waiting row at once (in its done callback), so
        sending never waits for a claim transaction; the loop below tops the queue up in large
        batches and gives back rows that waited so long their lease would run short.
        """
        wakeup = self._services.wakeups.deliveries
        tasks: set[asyncio.Task[None]] = set()
        ready = ReadyRows()
        refill = asyncio.Event()
        last_expiry = 0.0
        loop = asyncio.get_running_loop()
        settings = self._settings
        concurrency = settings.delivery_concurrency
        per_host = settings.delivery_per_host
        low_water = REFILL_FACTOR * concurrency

        waiting: set[asyncio.Task[None]] = set()  # in flight for long: a slow receiver
        timers: dict[asyncio.Task[None], asyncio.TimerHandle] = {}
        rows_of: dict[asyncio.Task[None], ClaimedDelivery] = {}  # what each delivery sends

        def launch() -> None:
            while len(tasks) < concurrency:
                row = ready.pop(self._in_flight, per_host)
                if row is None:
                    break
                self._in_flight[row.host] += 1
                task = asyncio.create_task(self._deliver(row))
                tasks.add(task)
                rows_of[task] = row
                task.add_done_callback(finished)
                timers[task] = loop.call_later(SET_ASIDE_AFTER, set_aside, task)
            if len(ready) <= low_water:
                refill.set()

        def set_aside(task: asyncio.Task[None]) -> None:
            """A delivery still waiting for its answer frees its slot for other hosts' rows
            (up to ``concurrency`` such, bounded per host by the host's cap): a receiver far
            away or slow then holds back nobody but itself."""
            timers.pop(task, None)
            if task in tasks and len(waiting) < concurrency:
                tasks.discard(task)
                waiting.add(task)
                launch()

        def finished(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            waiting.discard(task)
            rows_of.pop(task, None)
            timer = timers.pop(task, None)
            if timer is not None:
                timer.cancel()
            launch()
            if not tasks and not waiting:
                self.outcomes.flush_now.set()  # a burst is over: record its outcomes now

        try:
            while True:
                wakeup.clear()
                refill.clear()
                claimed = 0
                exhausted = False  # a claim found fewer due rows than it asked for
                try:
                    if loop.time() - last_expiry > 60:
                        await self._expire()
                        last_expiry = loop.time()
                    await self._give_back(
                        ready.stale(loop.time() - settings.delivery_lease_seconds / 2)
                    )
                    if len(ready) <= low_water:
                        wanted = CLAIM_FACTOR * concurrency - len(ready)
                        fresh = await self._claim(
                            wanted, per_host * READY_PER_HOST, ready.per_host()
                        )
                        ready.add(fresh, loop.time())
                        claimed = len(fresh)
                        exhausted = claimed < wanted
                except Exception:  # the database may be briefly busy: keep the loop alive
                    log.exception("delivery.loop_failed")
                launch()
                if claimed and not exhausted and len(ready) <= low_water:
                    continue  # more may be due right away
                waiters = [asyncio.ensure_future(wakeup.wait())]
                if not exhausted and (claimed or ready):
                    # Rows may still be due: top up when the queue runs low. (When the last
                    # claim found all there was, new rows come with a wakeup or the next poll.)
                    waiters.append(asyncio.ensure_future(refill.wait()))
                try:
                    await asyncio.wait(
                        waiters,
                        timeout=settings.delivery_poll_seconds,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    for waiter in waiters:
                        waiter.cancel()
        finally:
            in_flight = tasks | waiting
            for task in in_flight:
                task.remove_done_callback(finished)
                task.cancel()
            for timer in timers.values():
                timer.cancel()
            interrupted = await self._interrupted(in_flight, rows_of)
            with contextlib.suppress(Exception):  # on shutdown: else their leases expire
                await self._give_back(ready.stale(float("inf")) + interrupted)

    @staticmethod
    async def _interrupted(
        in_flight: set[asyncio.Task[None]], rows_of: dict[asyncio.Task[None], ClaimedDelivery]
    ) -> list[ClaimedDelivery]:
        """Wait for the cancelled deliveries to end; the rows of those that ended cancelled
        (no answer recorded). One that got its answer first has queued its outcome, which the
        final flush records; one still running after the grace keeps its lease."""
        if not in_flight:
            return []
        done, _ = await asyncio.wait(in_flight, timeout=SHUTDOWN_GRACE)
        return [rows_of[task] for task in done if task.cancelled() and task in rows_of]

    async def _give_back(self, rows: list[ClaimedDelivery]) -> None:
        if rows:
            async with self._services.db.write() as session:
                await delivery_repo.release(session, [row.id for row in rows])

    async def _post(self, row: ClaimedDelivery) -> PostResult:
        signer = await self.signers.signer(row)
        body = row.body.encode()
        transport = self._services.transport
        scheme = await self.schemes.scheme(row.host)
        result = await transport.post_activity(row.inbox, body, signer=signer, scheme=scheme)
        if scheme == RFC9421 and result.status == 401:
            # Double knocking: the peer does not take RFC 9421 after all; remember that.
            log.info("delivery.rfc9421_refused", extra={"host": row.host})
            await self.schemes.refused_rfc9421(row.host)
            result = await transport.post_activity(row.inbox, body, signer=signer, scheme=CAVAGE)
        return result

    async def _deliver(self, row: ClaimedDelivery) -> None:
        started = asyncio.get_running_loop().time()
        outcome: str = OutcomeKind.RETRY
        try:
            try:
                result = await self._post(row)
            except asyncio.CancelledError:
                outcome = CANCELLED  # shutting down: the row is given back, not charged
                raise
            except FetchError as exc:
                self.outcomes.queue(
                    Outcome(row, OutcomeKind.RETRY, None, exc.detail, host_failed=True)
                )
                return
            except Exception as exc:
                log.exception("delivery.error", extra={"delivery": row.id})
                self.outcomes.queue(
                    Outcome(row, OutcomeKind.RETRY, None, f"{exc.__class__.__name__}: {exc}")
                )
                return
            outcome = classify(result, row.attempts)
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "delivery.attempt",
                    extra={
                        "inbox": row.inbox,
                        "activity_id": row.activity_id,
                        "status": result.status,
                        "outcome": outcome,
                    },
                )
            if outcome is OutcomeKind.SENT:
                self.outcomes.queue(Outcome(row, outcome, result.status, ""))
                return
            now = self._services.clock.now()
            delay = retry_after(result.retry_after, now) if result.status == 429 else None
            self.outcomes.queue(
                Outcome(
                    row,
                    outcome,
                    result.status,
                    f"HTTP {result.status}: {result.excerpt}",
                    host_failed=outcome is OutcomeKind.RETRY and result.status != 429,
                    delay=delay,
                )
            )
        finally:
            self._in_flight[row.host] -= 1
            if self._in_flight[row.host] <= 0:
                del self._in_flight[row.host]
            if self._observe is not None and outcome != CANCELLED:
                self._observe(outcome, asyncio.get_running_loop().time() - started)
