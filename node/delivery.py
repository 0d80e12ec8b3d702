"""The delivery worker: claim due rows, sign at send time, POST, record the outcome.

Rows are signed when sent (not when queued), so every retry carries a fresh Date. A per-host
semaphore keeps one slow peer from taking every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import defaultdict
from datetime import timedelta

import orjson

from protocol.retry import exponential_backoff
from storage.models import LocalActor
from storage.repositories import deliveries as delivery_repo
from storage.repositories.deliveries import ClaimedDelivery

from .services import Services
from .transport import FetchError, PostResult

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)


def classify(result: PostResult) -> str:
    """'sent', 'dead' (permanent failure) or 'retry'."""
    if 200 <= result.status < 300:
        return "sent"
    if result.status in {408, 429} or result.status >= 500:
        return "retry"
    return "dead"


class DeliveryWorker:
    def __init__(self, services: Services) -> None:
        self._services = services
        settings = services.settings
        self._global = asyncio.Semaphore(settings.delivery_concurrency)
        self._per_host: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(settings.delivery_per_host)
        )
        self._actors: dict[int, LocalActor] = {}

    async def _actor(self, actor_id: int, public_pem: str) -> LocalActor:
        actor = self._actors.get(actor_id)
        if actor is None or actor.rsa_public_pem != public_pem:  # new, or its keys rotated
            async with self._services.db.read() as session:
                actor = await session.get(LocalActor, actor_id)
            if actor is None:
                raise LookupError(f"local actor {actor_id} is gone")
            self._actors[actor_id] = actor
        return actor

    async def run_once(self) -> int:
        services = self._services
        async with services.db.write() as session:
            claimed = await delivery_repo.claim_due(
                session,
                now=services.clock.now(),
                lease=LEASE,
                limit=services.settings.delivery_concurrency * 4,
            )
        if claimed:
            await asyncio.gather(*(self._deliver(row) for row in claimed))
        return len(claimed)

    async def _deliver(self, row: ClaimedDelivery) -> None:
        async with self._per_host[row.host], self._global:
            try:
                actor = await self._actor(row.actor_id, row.actor_public_pem)
                signer = self._services.keys.rsa_signer(actor)
                body = orjson.dumps(row.body)
                result = await self._services.transport.post_activity(
                    row.inbox, body, signer=signer
                )
            except FetchError as exc:
                await self._retry(row, None, str(exc))
                return
            except Exception as exc:
                log.exception("delivery.error", extra={"delivery": row.id})
                await self._retry(row, None, f"{exc.__class__.__name__}: {exc}")
                return
        outcome = classify(result)
        log.info(
            "delivery.attempt",
            extra={
                "inbox": row.inbox,
                "activity_id": row.activity_id,
                "status": result.status,
                "outcome": outcome,
            },
        )
        now = self._services.clock.now()
        async with self._services.db.write() as session:
            if outcome == "sent":
                await delivery_repo.mark_sent(session, row.id, now=now, status=result.status)
            elif outcome == "dead":
                await delivery_repo.mark_dead(
                    session,
                    row.id,
                    status=result.status,
                    error=f"HTTP {result.status}: {result.excerpt}",
                )
        if outcome == "retry":
            await self._retry(row, result.status, f"HTTP {result.status}: {result.excerpt}")

    async def _retry(self, row: ClaimedDelivery, status: int | None, error: str) -> None:
        delay = exponential_backoff(row.attempts + 1, jitter=random.random() * 0.5)
        async with self._services.db.write() as session:
            if delay is None:
                await delivery_repo.mark_dead(session, row.id, status=status, error=error)
            else:
                await delivery_repo.mark_retry(
                    session,
                    row.id,
                    next_attempt_at=self._services.clock.now() + delay,
                    status=status,
                    error=error,
                )

    async def run(self) -> None:
        wakeup = self._services.wakeups.deliveries
        poll = self._services.settings.delivery_poll_seconds
        while True:
            wakeup.clear()
            try:
                busy = await self.run_once()
            except Exception:
                log.exception("delivery.loop_failed")
                busy = 0
            if busy:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), poll)
