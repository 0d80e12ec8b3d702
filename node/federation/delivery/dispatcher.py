"""The delivery worker: claim due rows, sign at send time, POST, record the outcome.

A dispatcher keeps up to ``delivery_concurrency`` deliveries in flight, at most
``delivery_per_host`` per host, and starts the next leased row as soon as any finishes. A
delivery still unanswered after ``SET_ASIDE_AFTER`` gives its slot up (up to as many again wait
that way), so one slow or dead host never holds back the others. Rows are leased in large
claims (each costs several event-loop turns under load) and topped up well before they run out.
Rows are signed when sent, so every retry carries a fresh Date and the actor's current key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from sqlalchemy.ext.asyncio import AsyncSession

from node.federation.delivery.ready_rows import ReadyRows
from node.federation.transport import CAVAGE, RFC9421, FetchError, PostResult, Signer
from node.runtime.config import Settings
from node.runtime.services import Services
from protocol.retry import exponential_backoff
from storage.models import LocalActor
from storage.models.domain import NO, YES
from storage.repositories import deliveries as delivery_repo
from storage.repositories import domains as domain_repo
from storage.repositories import follows as follow_repo
from storage.repositories.deliveries import ClaimedDelivery

log = logging.getLogger(__name__)

#: Repeated 401s are tolerated this many times (a receiver may still hold a rotated key).
MAX_UNAUTHORIZED = 3
MAX_RETRY_AFTER = timedelta(days=1)
CLAIM_FACTOR = 64  # rows leased per claim at most, as a multiple of the concurrency...
REFILL_FACTOR = 8  # ...when no more than this multiple is waiting
READY_PER_HOST = 16  # rows leased per host at most, as a multiple of its concurrency cap
SET_ASIDE_AFTER = 0.05  # seconds after which a delivery still in flight stops taking a slot
FLUSH_BATCH = 500  # outcomes recorded per transaction at most...
FLUSH_SECONDS = 0.2  # ...or after this long
SCHEMES_TTL = 10.0  # seconds between reloads of what we know about hosts' signature schemes

Observer = Callable[[str, float], None]


def classify(result: PostResult, attempts: int) -> str:
    """'sent', 'gone', 'retry' or 'dead' for one answer."""
    if 200 <= result.status < 300:
        return "sent"
    if result.status == 410:
        return "gone"
    if result.status in {408, 429} or result.status >= 500:
        return "retry"
    if result.status == 401 and attempts + 1 < MAX_UNAUTHORIZED:
        return "retry"
    return "dead"


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


class DeliveryWorker:
    def __init__(self, services: Services, observe: Observer | None = None) -> None:
        self._services = services
        self._observe = observe
        self._signers: dict[int, tuple[str, Signer]] = {}  # by actor, with the key it was for
        self._in_flight: Counter[str] = Counter()
        self._schemes: dict[str, str] | None = None
        self._schemes_loaded = 0.0
        self._schemes_loading: asyncio.Future[None] | None = None
        self._signers_loading: dict[tuple[int, str], asyncio.Future[Signer]] = {}
        self._outcomes: list[Outcome] = []
        self._flush_now = asyncio.Event()
        self._failing_hosts: set[str] = set()

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
        await self.flush()
        return len(rows)

    async def run(self) -> None:
        async with self._services.db.read() as session:
            self._failing_hosts = await domain_repo.failing_hosts(session)
        flusher = asyncio.create_task(self._flusher())
        try:
            await self._dispatch()
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await self.flush()

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

        def launch() -> None:
            while len(tasks) < concurrency:
                row = ready.pop(self._in_flight, per_host)
                if row is None:
                    break
                self._in_flight[row.host] += 1
                task = asyncio.create_task(self._deliver(row))
                tasks.add(task)
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
            timer = timers.pop(task, None)
            if timer is not None:
                timer.cancel()
            launch()
            if not tasks and not waiting:
                self._flush_now.set()  # a burst is over: record its outcomes now

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
            for task in tasks | waiting:
                task.remove_done_callback(finished)
            for timer in timers.values():
                timer.cancel()
            with contextlib.suppress(Exception):  # on shutdown: else their leases expire
                await self._give_back(ready.stale(float("inf")))

    async def _give_back(self, rows: list[ClaimedDelivery]) -> None:
        if rows:
            async with self._services.db.write() as session:
                await delivery_repo.release(session, [row.id for row in rows])

    # -- one delivery -----------------------------------------------------------------------
    async def _scheme(self, host: str) -> str:
        """RFC 9421 for hosts known to take it (learned by the resolver), else draft-cavage."""
        now = asyncio.get_running_loop().time()
        if self._schemes is None or now - self._schemes_loaded > SCHEMES_TTL:
            # The first deliveries of a burst all get here at once: they share one read.
            if self._schemes_loading is None:
                self._schemes_loading = asyncio.ensure_future(self._load_schemes(now))
            await asyncio.shield(self._schemes_loading)
        assert self._schemes is not None
        return RFC9421 if self._schemes.get(host) == YES else CAVAGE

    async def _load_schemes(self, now: float) -> None:
        try:
            async with self._services.db.read() as session:
                self._schemes = await domain_repo.rfc9421_hosts(session)
            self._schemes_loaded = now
        finally:
            self._schemes_loading = None

    async def _signer(self, row: ClaimedDelivery) -> Signer:
        """The sending actor's signer, reloaded when the claimed row shows its key rotated."""
        cached = self._signers.get(row.actor_id)
        if cached is not None and cached[0] == row.actor_public_pem:
            return cached[1]
        key = (row.actor_id, row.actor_public_pem)
        loading = self._signers_loading.get(key)
        if loading is None:  # concurrent deliveries of one actor share one load
            loading = self._signers_loading[key] = asyncio.ensure_future(self._load_signer(key))
        return await asyncio.shield(loading)

    async def _load_signer(self, key: tuple[int, str]) -> Signer:
        actor_id = key[0]
        try:
            async with self._services.db.read() as session:
                actor = await session.get(LocalActor, actor_id)
            if actor is None:
                raise LookupError(f"local actor {actor_id} is gone")
            signer = self._services.keys.rsa_signer(actor)
            self._signers[actor_id] = (actor.rsa_public_pem, signer)
            return signer
        finally:
            self._signers_loading.pop(key, None)

    async def _post(self, row: ClaimedDelivery) -> PostResult:
        signer = await self._signer(row)
        body = row.body.encode()
        transport = self._services.transport
        scheme = await self._scheme(row.host)
        result = await transport.post_activity(row.inbox, body, signer=signer, scheme=scheme)
        if scheme == RFC9421 and result.status == 401:
            # Double knocking: the peer does not take RFC 9421 after all; remember that.
            log.info("delivery.rfc9421_refused", extra={"host": row.host})
            async with self._services.db.write() as session:
                await domain_repo.set_rfc9421(session, row.host, NO)
            assert self._schemes is not None
            self._schemes[row.host] = NO
            result = await transport.post_activity(row.inbox, body, signer=signer, scheme=CAVAGE)
        return result

    async def _deliver(self, row: ClaimedDelivery) -> None:
        started = asyncio.get_running_loop().time()
        outcome = "retry"
        try:
            try:
                result = await self._post(row)
            except FetchError as exc:
                self._queue(Outcome(row, "retry", None, str(exc), host_failed=True))
                return
            except Exception as exc:
                log.exception("delivery.error", extra={"delivery": row.id})
                self._queue(Outcome(row, "retry", None, f"{exc.__class__.__name__}: {exc}"))
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
            if outcome == "sent":
                self._queue(Outcome(row, outcome, result.status, ""))
                return
            now = self._services.clock.now()
            delay = retry_after(result.retry_after, now) if result.status == 429 else None
            self._queue(
                Outcome(
                    row,
                    outcome,
                    result.status,
                    f"HTTP {result.status}: {result.excerpt}",
                    host_failed=outcome == "retry" and result.status != 429,
                    delay=delay,
                )
            )
        finally:
            self._in_flight[row.host] -= 1
            if self._in_flight[row.host] <= 0:
                del self._in_flight[row.host]
            if self._observe is not None:
                self._observe(outcome, asyncio.get_running_loop().time() - started)

    # -- recording outcomes: many per transaction -------------------------------------------
    def _queue(self, outcome: Outcome) -> None:
        self._outcomes.append(outcome)
        if len(self._outcomes) >= FLUSH_BATCH:
            self._flush_now.set()

    async def flush(self) -> None:
        """Record every finished delivery in one transaction (one commit for many rows)."""
        if not self._outcomes:
            return
        batch, self._outcomes = self._outcomes, []
        try:
            await self._record(batch)
        except Exception:
            self._outcomes = batch + self._outcomes  # nothing is forgotten; the next flush retries
            raise

    async def _record(self, batch: list[Outcome]) -> None:
        settings = self._settings
        now = self._services.clock.now()
        unavailable_after = timedelta(seconds=settings.domain_unavailable_after_seconds)
        async with self._services.db.write() as session:
            sent_by_status: defaultdict[int, list[int]] = defaultdict(list)
            for o in batch:
                if o.outcome == "sent":
                    sent_by_status[o.status or 200].append(o.row.id)
            for status, ids in sent_by_status.items():
                await delivery_repo.mark_sent(session, ids, now=now, status=status)
            for o in batch:
                if o.outcome in {"dead", "gone"}:
                    await delivery_repo.mark_dead(session, o.row.id, status=o.status, error=o.error)
                if o.outcome == "gone":
                    removed = await follow_repo.remove_followers_at(session, o.row.inbox)
                    log.info(
                        "delivery.gone", extra={"inbox": o.row.inbox, "followers_removed": removed}
                    )
                if o.outcome == "retry":
                    await self._reschedule(session, o, now)
            for host in {o.row.host for o in batch if o.host_failed}:
                self._failing_hosts.add(host)
                if await domain_repo.record_failure(session, host, now, unavailable_after):
                    log.warning("domain.unavailable", extra={"host": host})
                    self._services.unavailable_hosts.add(host)
            answered = {o.row.host for o in batch if o.outcome != "retry" or o.status == 429}
            for host in answered & self._failing_hosts:
                # Any answer but a server error shows the host is up again.
                await domain_repo.record_success(session, host, now)
                self._failing_hosts.discard(host)
                self._services.unavailable_hosts.discard(host)

    async def _reschedule(self, session: AsyncSession, o: Outcome, now: datetime) -> None:
        settings = self._settings
        delay = o.delay
        if delay is None:
            delay = exponential_backoff(
                o.row.attempts + 1,
                base=timedelta(seconds=settings.delivery_retry_base_seconds),
                cap=timedelta(seconds=settings.delivery_retry_cap_seconds),
                max_attempts=settings.delivery_max_attempts,
                jitter=random.random() * 0.25,
            )
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

    async def _flusher(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
            # that lands as the event fires, and the loop would then never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FLUSH_SECONDS):
                    await self._flush_now.wait()
            self._flush_now.clear()
            try:
                await self.flush()
            except Exception:  # keep the outcomes for the next try rather than lose them
                log.exception("delivery.flush_failed")


@dataclass(slots=True)
class Outcome:
    row: ClaimedDelivery
    outcome: str  # sent, gone, dead, retry
    status: int | None
    error: str
    host_failed: bool = False
    delay: timedelta | None = None
