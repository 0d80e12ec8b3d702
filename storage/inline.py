"""Short SQLite write transactions in the event loop's own thread, or none at all.

aiosqlite runs each database call on a worker thread. A small write transaction is about eight
such calls (cursors, ``BEGIN IMMEDIATE``, the statement, ``COMMIT``, the pool's reset), and under
load every hand-off waits for the busy event-loop thread to let go of the GIL: the inbox's group
commit spent far more on hand-offs than SQLite spends inserting a few hundred rows (well under a
millisecond). An :class:`InlineWriter` runs such a transaction synchronously on a connection of
its own, with the same dialect, types and pragmas as the async engine.

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
from typing import Any

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool


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


def _busy(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return code in {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED} or "locked" in str(exc.orig)


class InlineWriter:
    """One synchronous connection to an SQLite file, for write transactions that must not wait."""

    def __init__(self, url: str) -> None:
        if not inline_capable(url):
            raise ValueError(f"not an SQLite database file: {url}")
        sync_url = make_url(url).set(drivername="sqlite+pysqlite")
        # One connection, used only from the thread that made it (the event loop's).
        self._engine: Engine = create_engine(sync_url, poolclass=StaticPool)

        @event.listens_for(self._engine, "connect")
        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event starts them
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=0")  # never wait: fail, and let the caller wait
            # Never checkpoint here: a checkpoint copies pages and syncs the file, which would
            # stall the event loop. The owner runs them on a worker thread (``checkpoint``).
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(self._engine, "begin")
        def on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: commits on success, rolls back on error.

        Raises :class:`InlineBusy` (with nothing written) when the write lock is taken.
        """
        try:
            with self._engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            if _busy(exc):
                raise InlineBusy(str(exc.orig)) from exc
            raise

    def dispose(self) -> None:
        self._engine.dispose()
