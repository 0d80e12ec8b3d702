"""Engines and sessions: SQLite (WAL) by default, PostgreSQL by URL.

SQLite allows one writer at a time. A transaction that reads first and writes later can fail
at once with ``database is locked`` when another connection wrote in between, whatever the
busy timeout. Write units of work therefore start with ``BEGIN IMMEDIATE`` (taking the write
lock up front, waiting up to ``busy_timeout``), while read-only sessions use a second engine
with ordinary deferred transactions so readers never queue behind writers (WAL).

The SQLite file holds the local actors' private keys, so it is created owner-only (0600) before
SQLite would create it under the process umask; SQLite creates its ``-wal``, ``-shm`` and
``-journal`` files with the database file's mode.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.inline import inline_capable
from storage.inline_session import InlineSessions

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: The files SQLite keeps beside a database file (WAL, its shared-memory index, the journal).
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL; None for other databases and in-memory or URI ones."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database:
        return None
    if database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _create_owner_only(path: Path) -> Any:
    """A ``do_connect`` hook: create a missing database file as 0600 (whatever the umask) just
    before SQLite opens it. An existing file keeps its mode; a missing directory is left for
    SQLite to report."""

    def before_connect(*_args: Any) -> None:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except (FileExistsError, FileNotFoundError):
            return
        try:
            if hasattr(os, "fchmod"):  # not on Windows before Python 3.13
                os.fchmod(fd, 0o600)
        finally:
            os.close(fd)

    return before_connect


def _sqlite_pragmas() -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The busy timeout first: even the journal-mode pragma may have to wait for a lock.
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives process crashes
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return on_connect


def make_engine(url: str, *, immediate: bool = True, echo: bool = False) -> AsyncEngine:
    """An async engine; on SQLite, ``immediate`` chooses BEGIN IMMEDIATE transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, echo=echo, pool_size=8, max_overflow=8)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas())
        database = sqlite_file(url)
        if database is not None:
            event.listen(engine.sync_engine, "do_connect", _create_owner_only(database))

        @event.listens_for(engine.sync_engine, "begin")
        def on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)


@dataclass
class Database:
    """The node's database: a writer engine and a reader engine (the same one off SQLite)."""

    url: str
    engine: AsyncEngine
    read_engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]
    #: Write units of work in the event loop's thread (SQLite files only; see
    #: ``storage.inline_session``), for batches of many small statements.
    inline: InlineSessions | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits on success, rolls back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session that never takes SQLite's write lock."""
        async with self.read_sessions() as session, session.begin():
            yield session

    async def checkpoint(self) -> None:
        """Copy the SQLite write-ahead log back into the database (PASSIVE: never waits for
        readers or writers), on the driver's worker thread. Nothing to do on PostgreSQL."""
        if not self.is_sqlite:
            return
        async with self.read_engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            cursor = await driver.execute("PRAGMA wal_checkpoint(PASSIVE)")
            await cursor.close()

    async def dispose(self) -> None:
        if self.inline is not None:
            self.inline.dispose()
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


def open_database(url: str) -> Database:
    engine = make_engine(url, immediate=True)
    read_engine = make_engine(url, immediate=False) if engine.dialect.name == "sqlite" else engine
    return Database(
        url=url,
        engine=engine,
        read_engine=read_engine,
        sessions=async_sessionmaker(engine, expire_on_commit=False),
        read_sessions=async_sessionmaker(read_engine, expire_on_commit=False),
        inline=InlineSessions(url) if inline_capable(url) else None,
    )


def sqlite_url(path: str) -> str:
    return f"sqlite+aiosqlite:///{path}"
