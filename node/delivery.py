"""The delivery worker: claim due rows, sign at send time, POST, record the outcome.

A dispatcher keeps up to ``delivery_concurrency`` deliveries in flight, at most
``delivery_per_host`` per host, and claims more as soon as any finishes, so one slow or dead
host never holds back the others. Rows are signed when sent, so every retry carries a fresh
Date and the actor's current key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import orjson

from node.config import Settings
from node.services import Services
from node.transport import CAVAGE, RFC9421, FetchError, PostResult
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
        self._actors: dict[int, LocalActor] = {}
        self._in_flight: Counter[str] = Counter()
        self._schemes: dict[str, str] | None = None
        self._schemes_loaded = 0.0

    # -- settings -------------------------------------------------------------------------
    @property
    def _settings(self) -> Settings:
        return self._services.settings

    def _lease(self) -> timedelta:
        return timedelta(seconds=self._settings.delivery_lease_seconds)

    # -- claiming ---------------------------------------------------------------------------
    async def _claim(self, free: int) -> list[ClaimedDelivery]:
        settings = self._settings
        busy = {h for h, n in self._in_flight.items() if n >= settings.delivery_per_host}
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
            per_host = Counter(self._in_flight)
            for row in rows:
                if per_host[row.host] >= settings.delivery_per_host:
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
        rows = await self._claim(self._settings.delivery_concurrency)
        for row in rows:
            self._in_flight[row.host] += 1
        await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    async def run(self) -> None:
        wakeup = self._services.wakeups.deliveries
        tasks: set[asyncio.Task[None]] = set()
        last_expiry = 0.0
        loop = asyncio.get_running_loop()
        while True:
            wakeup.clear()
            free = self._settings.delivery_concurrency - len(tasks)
            claimed = 0
            try:
                if loop.time() - last_expiry > 60:
                    await self._expire()
                    last_expiry = loop.time()
                if free > 0:
                    for row in await self._claim(free):
                        self._in_flight[row.host] += 1
                        tasks.add(asyncio.create_task(self._deliver(row)))
                        claimed += 1
            except Exception:  # the database may be briefly busy: keep the loop alive
                log.exception("delivery.loop_failed")
            if claimed and len(tasks) < self._settings.delivery_concurrency:
                continue  # more may be due right away
            waiter = asyncio.ensure_future(wakeup.wait())
            done, _ = await asyncio.wait(
                {*tasks, waiter},
                timeout=self._settings.delivery_poll_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
            waiter.cancel()
            tasks -= done

    # -- one delivery -----------------------------------------------------------------------
    async def _actor(self, actor_id: int, public_pem: str) -> LocalActor:
        actor = self._actors.get(actor_id)
        if actor is None or actor.rsa_public_pem != public_pem:  # new, or its keys rotated
            async with self._services.db.read() as session:
                actor = await session.get(LocalActor, actor_id)
            if actor is None:
                raise LookupError(f"local actor {actor_id} is gone")
            self._actors[actor_id] = actor
        return actor

    async def _scheme(self, host: str) -> str:
        """RFC 9421 for hosts known to take it (learned by the resolver), else draft-cavage."""
        now = asyncio.get_running_loop().time()
        if self._schemes is None or now - self._schemes_loaded > SCHEMES_TTL:
            async with self._services.db.read() as session:
                self._schemes = await domain_repo.rfc9421_hosts(session)
            self._schemes_loaded = now
        return RFC9421 if self._schemes.get(host) == YES else CAVAGE

    async def _post(self, row: ClaimedDelivery) -> PostResult:
        actor = await self._actor(row.actor_id, row.actor_public_pem)
        signer = self._services.keys.rsa_signer(actor)
        body = orjson.dumps(row.body)
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
                await self._failed(row, None, str(exc), host_failed=True)
                return
            except Exception as exc:
                log.exception("delivery.error", extra={"delivery": row.id})
                await self._failed(row, None, f"{exc.__class__.__name__}: {exc}", host_failed=False)
                return
            outcome = classify(result, row.attempts)
            log.info(
                "delivery.attempt",
                extra={
                    "inbox": row.inbox,
                    "activity_id": row.activity_id,
                    "status": result.status,
                    "outcome": outcome,
                },
            )
            await self._record(row, result, outcome)
        finally:
            self._in_flight[row.host] -= 1
            if self._in_flight[row.host] <= 0:
                del self._in_flight[row.host]
            if self._observe is not None:
                self._observe(outcome, asyncio.get_running_loop().time() - started)

    async def _record(self, row: ClaimedDelivery, result: PostResult, outcome: str) -> None:
        now = self._services.clock.now()
        error = f"HTTP {result.status}: {result.excerpt}"
        if outcome == "retry":
            await self._failed(
                row,
                result.status,
                error,
                host_failed=result.status != 429,
                delay=retry_after(result.retry_after, now) if result.status == 429 else None,
            )
            return
        async with self._services.db.write() as session:
            if outcome == "sent":
                await delivery_repo.mark_sent(session, row.id, now=now, status=result.status)
            else:
                await delivery_repo.mark_dead(session, row.id, status=result.status, error=error)
            if outcome == "gone":
                removed = await follow_repo.remove_followers_at(session, row.inbox)
                log.info("delivery.gone", extra={"inbox": row.inbox, "followers_removed": removed})
            # Any answer but a server error shows the host is up.
            if await domain_repo.record_success(session, row.host, now):
                self._services.unavailable_hosts.discard(row.host)

    async def _failed(
        self,
        row: ClaimedDelivery,
        status: int | None,
        error: str,
        *,
        host_failed: bool,
        delay: timedelta | None = None,
    ) -> None:
        settings = self._settings
        now = self._services.clock.now()
        if delay is None:
            delay = exponential_backoff(
                row.attempts + 1,
                base=timedelta(seconds=settings.delivery_retry_base_seconds),
                cap=timedelta(seconds=settings.delivery_retry_cap_seconds),
                max_attempts=settings.delivery_max_attempts,
                jitter=random.random() * 0.25,
            )
        async with self._services.db.write() as session:
            if delay is None:
                await delivery_repo.mark_dead(
                    session,
                    row.id,
                    status=status,
                    error=f"gave up after {row.attempts + 1} attempts: {error}",
                )
            else:
                await delivery_repo.mark_retry(
                    session, row.id, next_attempt_at=now + delay, status=status, error=error
                )
            if host_failed:
                unavailable_after = timedelta(seconds=settings.domain_unavailable_after_seconds)
                if await domain_repo.record_failure(session, row.host, now, unavailable_after):
                    log.warning("domain.unavailable", extra={"host": row.host})
                    self._services.unavailable_hosts.add(row.host)
