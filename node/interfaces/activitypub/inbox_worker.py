"""Handles stored inbox items in arrival order, many per unit of work.

A batch of items is handled in one transaction: one claim, the handlers in order (each flushed,
so an error belongs to the item that caused it), one statement marking them handled, one commit.
That is what lets handling keep up with acceptance; one transaction per item spent its time in
``BEGIN``/``COMMIT`` and driver hand-offs, not in the handlers.

One bad item must not fail its batch. When a handler raises, the transaction is rolled back; the
items before it (which handled cleanly) are handled again and committed together with the bad
item's failure, and the items after it form the next batch. So each failure costs at most one
re-run of the items before it, and the good items of a batch are never lost or failed with it.

A failed item waits before it is tried again (exponential backoff, the curve of
``protocol/retry.py`` with the ``inbox_retry_*`` settings) while the items behind it are handled;
after ``inbox_max_attempts`` it is failed for good. An item that cannot be parsed, or whose
handler refuses it as malformed, fails for good at once: trying again would not change it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from node.interfaces.activitypub.handlers import dispatch
from node.interfaces.activitypub.handlers.context import HandlerContext
from node.runtime.services import Services
from protocol.activities import Activity, parse_activity
from protocol.errors import ProtocolError
from protocol.retry import exponential_backoff
from storage.inline import InlineBusy
from storage.repositories import counters
from storage.repositories import inbox as inbox_repo
from storage.repositories.inbox import Received

log = logging.getLogger(__name__)

#: Items per unit of work: large enough that a commit is shared by many, small enough that a
#: batch's transaction stays short (the write lock is held for it) and a failure's re-run cheap.
BATCH = 200
POLL_SECONDS = 1.0
#: While items keep arriving, how long the worker waits after a wake-up to gather a batch.
LINGER_SECONDS = 0.02
#: How long one batch's transaction may run before it commits what it has: on SQLite it runs in
#: the event loop's thread, and requests wait meanwhile.
BUDGET_SECONDS = 0.025
#: Through the async driver (PostgreSQL) the budget is this many times longer: every statement
#: awaits the server, so requests are served meanwhile, and a commit cut short only adds round
#: trips (claim, marking, counter, commit). A limit still bounds a failure's re-run and how long
#: the batch's rows stay locked.
ASYNC_BUDGET_FACTOR = 20
#: How long a batch waits for SQLite's write lock to run inline (the loop's thread), trying
#: again every ``INLINE_RETRY_SECONDS``, before it takes the driver's thread and waits there.
INLINE_WAIT_SECONDS = 0.05
INLINE_RETRY_SECONDS = 0.001
#: At most one write-ahead-log checkpoint this often after inline batches (see ``_checkpoint``).
CHECKPOINT_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class _Parsed:
    item: Received
    activity: Activity


@dataclass(frozen=True, slots=True)
class _Failure:
    item: Received
    error: str
    final: bool


class _ItemFailed(Exception):
    """Raised out of a batch's transaction (rolling it back) when the handler of one item fails."""

    def __init__(self, index: int, cause: Exception) -> None:
        super().__init__(str(cause))
        self.index = index
        self.cause = cause


class InboxWorker:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._last_checkpoint = float("-inf")

    async def run_once(self) -> int:
        """Handle every item waiting now (one batch); returns how many were taken."""
        services = self._services
        items = await self._next()
        parsed: list[_Parsed] = []
        failures: list[_Failure] = []
        for item in items:
            try:
                activity = parse_activity(item.body, allow_http=services.settings.allow_http)
            except ProtocolError as exc:
                failures.append(_Failure(item, str(exc), final=True))
                continue
            parsed.append(_Parsed(item, activity))
        await self._handle(parsed, failures)
        return len(items)

    async def _next(self) -> list[Received]:
        """The next batch, read in the loop's thread when it can be (see ``_commit``): under a
        flood of requests a hand-off to the driver's thread waits behind all of them."""
        services = self._services
        now = services.clock.now()
        if services.db.inline is not None:
            try:
                async with services.db.inline.write() as session:
                    return await inbox_repo.next_received(session, BATCH, now=now)
            except InlineBusy:
                pass
        async with services.db.read() as session:
            return await inbox_repo.next_received(session, BATCH, now=now)

    async def _handle(self, todo: list[_Parsed], failures: list[_Failure]) -> None:
        """Commit ``todo`` as few batches as its failures allow, with ``failures`` recorded."""
        while todo or failures:
            try:
                taken = await self._commit(todo, failures)
                todo, failures = todo[taken:], []
                if todo:
                    await asyncio.sleep(0)  # out of time: requests first, then the rest
                continue
            except _ItemFailed as failed:
                bad = todo[failed.index]
                failures = [*failures, self._failure(bad, failed.cause)]
                before, todo = todo[: failed.index], todo[failed.index + 1 :]
            # The items before the bad one handled cleanly: commit them with the failures now,
            # then go on with the rest. (If one of them fails this time, it is failed the same
            # way and the others before it are put back in front.)
            try:
                taken = await self._commit(before, failures)
                failures = []
                todo = before[taken:] + todo
            except _ItemFailed as failed:
                failures = [*failures, self._failure(before[failed.index], failed.cause)]
                todo = before[: failed.index] + before[failed.index + 1 :] + todo

    async def _commit(self, batch: list[_Parsed], failures: list[_Failure]) -> int:
        """Handle ``batch`` (or as much of it as :data:`BUDGET_SECONDS` allows) and record
        ``failures`` in one transaction; returns how many of ``batch`` it took. Raises
        ``_ItemFailed`` (with everything rolled back) when a handler fails.

        On an SQLite file the transaction runs in the event loop's thread (``storage.
        inline_session``) unless another connection holds the write lock."""
        inline = self._services.db.inline
        if inline is not None:
            waited_until = time.monotonic() + INLINE_WAIT_SECONDS
            while True:
                try:
                    async with inline.write() as session:
                        taken, handling = await self._run(session, batch, failures, BUDGET_SECONDS)
                    handling.wake()  # after the commit: the workers for what the batch queued
                    await self._checkpoint()
                    return taken
                except InlineBusy:
                    # Another connection's short write (a delivery's outcome, a follow-up)
                    # holds the lock: it ends within milliseconds, while the same batch through
                    # the driver's thread costs a hand-off per statement. Wait a little first.
                    if time.monotonic() >= waited_until:
                        break
                    await asyncio.sleep(INLINE_RETRY_SECONDS)
        async with self._services.db.write() as session:
            taken, handling = await self._run(
                session, batch, failures, BUDGET_SECONDS * ASYNC_BUDGET_FACTOR
            )
        handling.wake()
        return taken

    async def _run(
        self, session: AsyncSession, batch: list[_Parsed], failures: list[_Failure], budget: float
    ) -> tuple[int, HandlerContext]:
        services = self._services
        started = time.monotonic()
        ids = [p.item.id for p in batch] + [f.item.id for f in failures]
        mine = await inbox_repo.lock_many(session, ids)  # others may have taken some
        handling = HandlerContext(services, session)
        handled: list[int] = []
        taken = len(batch)
        for index, parsed in enumerate(batch):
            if handled and time.monotonic() - started > budget:
                taken = index  # the rest in the next transaction: let the loop breathe
                break
            if parsed.item.id not in mine:
                continue
            try:
                await dispatch(handling, parsed.activity)
                if session.new or session.dirty or session.deleted:
                    await session.flush()  # so a failing statement is this item's failure
            except Exception as exc:
                raise _ItemFailed(index, exc) from exc
            handled.append(parsed.item.id)
        now = services.clock.now()
        await inbox_repo.mark_processed_many(session, handled, now)
        finished = len(handled)
        for failure in failures:
            if failure.item.id in mine:
                finished += await self._record(session, failure, now)
        await counters.add(session, counters.INBOX_HANDLED, finished)
        return taken, handling

    async def _checkpoint(self) -> None:
        """The inline connection never checkpoints the write-ahead log (that would stall the
        loop): after its commits, at most once a second, a PASSIVE checkpoint on the driver's
        thread keeps the log from growing while a backlog drains with no other writer."""
        now = time.monotonic()
        if now - self._last_checkpoint >= CHECKPOINT_SECONDS:
            self._last_checkpoint = now
            await self._services.db.checkpoint()

    def _failure(self, parsed: _Parsed, exc: Exception) -> _Failure:
        if isinstance(exc, ProtocolError):  # refused as malformed: the same next time
            return _Failure(parsed.item, str(exc), final=True)
        log.error(
            "inbox.handler_failed",
            exc_info=(type(exc), exc, exc.__traceback__),
            extra={"activity_id": parsed.item.activity_id},
        )
        return _Failure(parsed.item, f"{exc.__class__.__name__}: {exc}", final=False)

    async def _record(self, session: AsyncSession, failure: _Failure, now: datetime) -> int:
        """Count a failed attempt; returns 1 if the item is now failed for good."""
        retry_at = None if failure.final else self._retry_at(failure.item.attempts + 1, now)
        final = retry_at is None
        await inbox_repo.mark_failed(
            session,
            failure.item.id,
            now,
            failure.error,
            final=final,
            next_attempt_at=retry_at,
        )
        return 1 if final else 0

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
                taken = await self.run_once()
            except Exception:  # the database may be briefly unavailable: keep the loop alive
                log.exception("inbox.loop_failed")
                taken = 0
            if taken >= BATCH:
                continue
            with contextlib.suppress(TimeoutError):  # not wait_for: see DeliveryWorker._flusher
                async with asyncio.timeout(POLL_SECONDS):
                    await wakeup.wait()
            if taken:
                # Items are streaming in: let a batch's worth gather before the next one. A
                # batch's fixed cost (claim, marking, counter, commit) is then shared by many
                # items instead of the few that arrived since the last commit.
                await asyncio.sleep(LINGER_SECONDS)
