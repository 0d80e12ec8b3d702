"""Short SQLite write transactions in the event loop's own thread, or none at all.

aiosqlite runs each database call on a worker thread. A small write transaction is about eight
such calls (cursors, ``BEGIN IMMEDIATE``, the statement, ``COMMIT``, the pool's reset), and under
load every hand-off waits for the busy event-loop thread to let go of the GIL: the inbox's group
commit spent far more on hand-offs than SQLite spends inserting a few hundred rows (well under a
millisecond). An :class:`InlineWriter` runs such a transaction synchronously on a plain
``sqlite3`` connection of its own (no pool, no per-statement compilation: the callers bring
statements compiled once, see ``storage.repositories.inbox``), with the async engine's pragmas.

It never waits for a lock: the connection's busy timeout is zero, so when another connection (a
worker process, or this process's async engine) holds SQLite's write lock the transaction fails at
once with :class:`InlineBusy`, having written nothing, and the caller takes the async path, which
waits for the lock on its thread. Only databases named by a plain file path qualify (an in-memory
database is private to its connection).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url


class InlineBusy(Exception):
    """Another connection holds the write lock; nothing was written."""


def inline_capable(url: str) -> bool:
    """Whether ``url`` names an SQLite database file (what :class:`InlineWriter` can serve)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    # Plain paths only: URI filenames and options (``?mode=memory``...) are left to aiosqlite.
    database = parsed.database or ""
    return (
        database not in {"", ":memory:"} and not parsed.query and not database.startswith("file:")
    )


def _busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code in {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED} or "locked" in str(exc)


class InlineWriter:
    """One synchronous connection to an SQLite file, for write transactions that must not wait."""

    def __init__(self, url: str) -> None:
        if not inline_capable(url):
            raise ValueError(f"not an SQLite database file: {url}")
        self._path = make_url(url).database or ""
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        """Opened on first use, in the thread that uses it (the event loop's)."""
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None)  # we issue BEGIN/COMMIT
            conn.execute("PRAGMA busy_timeout=0")  # never wait: fail, and let the caller wait
            # Never checkpoint here: a checkpoint copies pages and syncs the file, which would
            # stall the event loop. The owner runs them on a worker thread (``checkpoint``).
            conn.execute("PRAGMA wal_autocheckpoint=0")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._conn = conn
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: commits on success, rolls back on error.

        Raises :class:`InlineBusy` (with nothing written) when the write lock is taken.
        """
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise InlineBusy(str(exc)) from exc
            raise
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            conn.rollback()
            if _busy(exc):
                raise InlineBusy(str(exc)) from exc
            raise

    def dispose(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
