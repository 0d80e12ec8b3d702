"""Group commit for inbox writes: many requests, one transaction.

One commit per request caps an inbox at about a thousand activities a second on SQLite;
a single writer task that drains whatever has queued up and commits it together keeps
latency low under light load and throughput high under heavy load. Each request is answered
only after the transaction holding its row has committed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from node.runtime.clock import Clock, SystemClock
from protocol.errors import ChapterhouseError
from storage.engine import Database
from storage.inline import InlineBusy, InlineWriter, inline_capable
from storage.repositories import inbox as inbox_repo

log = logging.getLogger(__name__)

MAX_BATCH = 500
#: At most this many turns of the event loop are spent gathering a batch (see ``_gather``).
LINGER_TURNS = 8
#: Seconds a checkpoint in progress may take to finish when the writer stops.
CHECKPOINT_GRACE = 5.0


class ActivityIdConflict(ChapterhouseError):
    """An activity id we already hold arrived with a different body."""


class GroupCommitWriter:
    def __init__(
        self,
        db: Database,
        on_commit: asyncio.Event,
        clock: Clock | None = None,
        checkpoint_seconds: float = 1.0,
    ) -> None:
        self._db = db
        self._clock = clock or SystemClock()
        self._on_commit = on_commit
        self._checkpoint_seconds = checkpoint_seconds
        self._checkpointing: asyncio.Task[None] | None = None
        self._last_checkpoint = float("-inf")
        # On an SQLite file, batches are written inline (see storage.inline) unless the write
        # lock is taken; then, and on PostgreSQL, through the async engine.
        self._inline = InlineWriter(db.url) if inline_capable(db.url) else None
        # Rows waiting for the writer, and what the idle writer waits on (a bare list and future:
        # an asyncio.Queue costs several times more per row, and every request passes here).
        self._pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._arrived: asyncio.Future[None] | None = None

    def submit(self, row: dict[str, Any]) -> asyncio.Future[None]:
        """Queue one inbox row (its ``received_at`` is the batch's); await the result to learn
        it is durably committed (or that the write failed). A plain function returning a
        future: one coroutine less per request."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        arrived = self._arrived
        if arrived is not None and not arrived.done():
            arrived.set_result(None)
        return future

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                if not self._pending:
                    self._arrived = loop.create_future()
                    await self._arrived
                await self._gather()
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._commit(batch)
        finally:
            if self._checkpointing is not None and not self._checkpointing.done():
                # Let it finish (it is short): cancelled, its statement would still complete on
                # the driver's thread and report to an event loop that may be closed by then.
                await asyncio.wait({self._checkpointing}, timeout=CHECKPOINT_GRACE)
                self._checkpointing.cancel()
            if self._inline is not None:
                self._inline.dispose()

    async def _gather(self) -> None:
        """While each turn of the event loop brings more rows, wait a turn (up to a full batch).

        Under load, requests already being handled reach the queue within a turn or two, and
        a transaction's cost is mostly per transaction (not per row): bigger batches make the
        whole node faster. Alone, a request waits a single turn (microseconds).
        """
        for _ in range(LINGER_TURNS):
            if len(self._pending) >= MAX_BATCH:
                return
            before = len(self._pending)
            await asyncio.sleep(0)
            if len(self._pending) == before:
                return

    async def _commit(self, batch: list[tuple[dict[str, Any], asyncio.Future[None]]]) -> None:
        # One row per activity id: a repeat within the batch is a duplicate (same fingerprint)
        # or a conflict (another body under the same id), decided here without the database.
        rows: dict[str, dict[str, Any]] = {}
        received_at = self._clock.now()  # the batch's rows arrive together
        for row, future in batch:
            row["received_at"] = received_at
            first = rows.setdefault(row["activity_id"], row)
            if first["body_sha256"] != row["body_sha256"]:
                self._conflict(row, future)
        try:
            known = self._write_inline(rows)
            if known is None:
                # One statement (``Database.statement``: on PostgreSQL no BEGIN and COMMIT round
                # trips); the fingerprints of known ids are committed rows, read afterwards.
                async with self._db.statement() as session:
                    inserted = await inbox_repo.insert_many(session, list(rows.values()))
                    known = {}
                    if inserted != len(rows):
                        known = await inbox_repo.known_bodies(session, list(rows))
        except Exception as exc:  # every waiter must learn the outcome, whatever it was
            log.exception("inbox.group_commit_failed", extra={"rows": len(batch)})
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for row, future in batch:
            if future.done():
                continue
            # A row we just inserted matches its own fingerprint; a mismatch is an older,
            # different activity stored under the same id.
            if known.get(row["activity_id"], row["body_sha256"]) != row["body_sha256"]:
                self._conflict(row, future)
            else:
                future.set_result(None)
        self._on_commit.set()

    def _write_inline(self, rows: dict[str, dict[str, Any]]) -> dict[str, str] | None:
        """The batch's transaction on the event loop's thread (SQLite files only).

        Returns the stored fingerprints of ids that were known already (empty when every row
        was new), or None when the write lock was taken (nothing written: use the async path).
        """
        if self._inline is None:
            return None
        try:
            with self._inline.transaction() as conn:
                if inbox_repo.insert_many_inline(conn, list(rows.values())) == len(rows):
                    known: dict[str, str] = {}
                else:
                    known = inbox_repo.known_bodies_inline(conn, list(rows))
        except InlineBusy:
            return None
        self._schedule_checkpoint()
        return known

    def _schedule_checkpoint(self) -> None:
        """Inline commits never checkpoint the WAL (that would block the loop on disk I/O):
        copy it back into the database from a worker thread, at most once a second."""
        now = asyncio.get_running_loop().time()
        if now - self._last_checkpoint < self._checkpoint_seconds:
            return
        if self._checkpointing is not None and not self._checkpointing.done():
            return
        self._last_checkpoint = now
        self._checkpointing = asyncio.create_task(self._checkpoint())

    async def _checkpoint(self) -> None:
        try:
            await self._db.checkpoint()
        except Exception:  # the next one will try again; WAL pages are not lost meanwhile
            log.warning("inbox.checkpoint_failed", exc_info=True)

    @staticmethod
    def _conflict(row: dict[str, Any], future: asyncio.Future[None]) -> None:
        """Same id, other content: a replay with edits, or a forgery. Refuse it."""
        log.warning("inbox.id_conflict", extra={"activity_id": row["activity_id"]})
        if not future.done():  # its request may have been cancelled meanwhile
            future.set_exception(ActivityIdConflict(row["activity_id"]))
