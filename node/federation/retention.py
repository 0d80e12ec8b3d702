"""Retention: what the queues keep once their work is done, and the daily purge.

Sent and dead deliveries, and handled (processed or failed) inbox items, are of no use to the
node after a while; left alone they grow without bound. The purge drops, for an age
``older_than`` (``retention_days`` in the node; ``chapterhouse purge --older-than-days``):

- deliveries sent or dead, created before the age;
- the bodies of inbox items handled before the age (emptied, see ``storage/repositories/
  inbox.py``), keeping their activity ids and fingerprints;
- the inbox rows themselves once handled before ``max(age, signature window)``: until then a
  replayed request still carries a valid signature, so its activity id must still be known
  to be recognised as a duplicate.

It works in pages of ``PURGE_BATCH`` rows, each page found in a read transaction and removed
in its own short write transaction, so it never holds SQLite's write lock for long and can run
beside a busy node. Rows it removes are finished for good, so running it again (or in two
processes) is harmless: the worker runs it at start and every ``PURGE_INTERVAL``, and needs no
record of the last run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from node.runtime.services import Services
from storage.engine import Database
from storage.repositories import deliveries as delivery_repo
from storage.repositories import inbox as inbox_repo

log = logging.getLogger(__name__)

PURGE_BATCH = 500  # rows per write transaction
PURGE_PAUSE = 0.01  # seconds between two pages: other writers take the lock meanwhile
PURGE_INTERVAL = timedelta(days=1)

#: ``progress(what, done_so_far)`` after each page (the CLI prints it).
Progress = Callable[[str, int], None]
Finder = Callable[[AsyncSession, int], Awaitable[list[int]]]
Remover = Callable[[AsyncSession, Sequence[int]], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Purged:
    """What a purge removed (or, in a dry run, would remove)."""

    deliveries: int
    inbox_items: int  # rows deleted: their ids no longer needed for de-duplication
    inbox_bodies: int  # bodies emptied: the rows stay for de-duplication

    @property
    def total(self) -> int:
        return self.deliveries + self.inbox_items + self.inbox_bodies


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """``bodies``: deliveries and inbox bodies older go; ``ids``: inbox rows older go."""

    bodies: datetime
    ids: datetime


def cutoffs(services: Services, older_than: timedelta) -> Cutoffs:
    now = services.clock.now()
    window = timedelta(seconds=services.settings.signature_window_seconds)
    return Cutoffs(bodies=now - older_than, ids=now - max(older_than, window))


async def purge(
    services: Services,
    older_than: timedelta,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> Purged:
    """Purge (or count, if ``dry_run``) what is older than ``older_than``; see the module."""
    if older_than < timedelta(0):
        raise ValueError("older_than must not be negative")
    at = cutoffs(services, older_than)
    if dry_run:
        return await _count(services.db, at)
    db = services.db
    report = progress or (lambda _what, _done: None)

    finished = [_finished(state, at.bodies) for state in delivery_repo.FINISHED]
    deliveries = await _in_pages(
        db, finished, delivery_repo.delete_finished, lambda n: report("deliveries", n)
    )
    old_items = [_handled(state, at.ids, with_body=False) for state in inbox_repo.HANDLED]
    items = await _in_pages(
        db, old_items, inbox_repo.delete_handled, lambda n: report("inbox items", n)
    )
    bodies = [_handled(state, at.bodies, with_body=True) for state in inbox_repo.HANDLED]
    emptied = await _in_pages(
        db, bodies, inbox_repo.drop_bodies, lambda n: report("inbox bodies", n)
    )
    return Purged(deliveries, items, emptied)


def _finished(state: str, before: datetime) -> Finder:
    async def find(session: AsyncSession, _after: int) -> list[int]:
        # Each page is deleted before the next is read: no need to move past it.
        return await delivery_repo.finished_before(session, state, before, limit=PURGE_BATCH)

    return find


def _handled(state: str, before: datetime, *, with_body: bool) -> Finder:
    async def find(session: AsyncSession, after: int) -> list[int]:
        return await inbox_repo.handled_before(
            session, state, before, after=after, limit=PURGE_BATCH, with_body=with_body
        )

    return find


async def _in_pages(
    db: Database, finders: list[Finder], remove: Remover, done: Callable[[int], None]
) -> int:
    """Find a page of ids (read), remove it (short write), move past it; until none is left."""
    total = 0
    for find in finders:
        after = 0
        while True:
            async with db.read() as session:
                ids = await find(session, after)
            if not ids:
                break
            async with db.write() as session:
                removed = await remove(session, ids)
            total += removed
            done(total)
            if len(ids) < PURGE_BATCH or not removed:  # the end, or rows changed meanwhile
                break
            after = ids[-1]
            await asyncio.sleep(PURGE_PAUSE)
    return total


async def _count(db: Database, at: Cutoffs) -> Purged:
    async with db.read() as session:
        deliveries = await delivery_repo.count_finished_before(session, at.bodies)
        items = await inbox_repo.count_handled_before(session, at.ids)
        bodies = await inbox_repo.count_handled_before(
            session, at.bodies, not_before=at.ids, with_body=True
        )
    return Purged(deliveries, items, bodies)


async def run_retention(services: Services) -> None:
    """The worker: purge at start, then every ``PURGE_INTERVAL`` (``retention_days`` = 0: never)."""
    days = services.settings.retention_days
    if days <= 0:
        log.info("retention.off")
        return
    while True:
        try:
            purged = await purge(services, timedelta(days=days))
        except Exception:  # the database may be busy or briefly down: try again next time
            log.exception("retention.purge_failed")
        else:
            if purged.total:
                log.info(
                    "retention.purged",
                    extra={
                        "deliveries": purged.deliveries,
                        "inbox_items": purged.inbox_items,
                        "inbox_bodies": purged.inbox_bodies,
                    },
                )
        await asyncio.sleep(PURGE_INTERVAL.total_seconds())
