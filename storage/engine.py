"""Engines and sessions: SQLite (WAL) by default, PostgreSQL by URL.

SQLite allows one writer at a time. A transaction that reads first and writes later can fail
at once with ``database is locked`` when another connection wrote in between, whatever the
busy timeout. Write units of work therefore start with ``BEGIN IMMEDIATE`` (taking the write
lock up front, waiting up to ``busy_timeout``), while read-only sessions use a second engine
with ordinary deferred transactions so readers never queue behind writers (WAL).

The SQLite file holds the local actors' private keys, so it is created owner-only (0600) before
SQLite would create it under the process umask; SQLite creates its ``-wal``, ``-shm`` and
``-journal`` files with the database file's mode.

On PostgreSQL every statement is a network round trip, and the fixed ones around a short unit
of work used to outnumber its own: the pool's pre-ping (``BEGIN``, a probe, ``ROLLBACK``) on
every checkout, then ``BEGIN`` and ``COMMIT``. So a connection is probed only after it sat idle
(:data:`POSTGRES_PING_IDLE_SECONDS`: a server restart or a dropped socket still never reaches a
caller), and read-only sessions run in autocommit mode, a statement each, with no ``BEGIN``
or ``COMMIT``: under PostgreSQL's READ COMMITTED every statement of a transaction takes its
own snapshot anyway, so a reader sees exactly what it saw inside one.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
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
#: A pooled PostgreSQL connection idle at least this long is probed before it is handed out.
POSTGRES_PING_IDLE_SECONDS = 2.0
#: Prepared statements kept per PostgreSQL connection (asyncpg; SQLAlchemy's default is 100):
#: a statement evicted costs a prepare round trip the next time it runs.
POSTGRES_STATEMENT_CACHE = 500


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
    return _postgres_engine(url, echo)


def _postgres_engine(url: str, echo: bool) -> AsyncEngine:
    engine = create_async_engine(
        url,
        echo=echo,
        # Every acceptance reads a row or two: under a flood more than ten connections are busy
        # at once, and connections past the pool's size are closed on return, so each burst
        # paid for new connections (and for preparing every statement again on them).
        pool_size=20,
        max_overflow=10,
        connect_args={"prepared_statement_cache_size": POSTGRES_STATEMENT_CACHE},
    )
    pool = engine.sync_engine.pool
    event.listen(pool, "checkin", _note_idle)
    event.listen(pool, "checkout", _ping_if_idle)
    return engine


def _note_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """``pool_pre_ping`` for connections that sat idle only: a busy connection was just seen
    working, and probing it costs three round trips per unit of work. A failed probe makes the
    pool drop the connection and hand out (or open) another, as ``pool_pre_ping`` would."""
    idle_since = record.info.pop("idle_since", None)
    if idle_since is None or time.monotonic() - idle_since < POSTGRES_PING_IDLE_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as error:
        raise exc.DisconnectionError(f"pooled connection failed its probe: {error}") from error


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

    @asynccontextmanager
    async def statement(self) -> AsyncIterator[AsyncSession]:
        """A unit of work that is a single statement. On PostgreSQL it runs in autocommit mode:
        the statement is its own transaction (as atomic and durable as one), committed without
        a ``BEGIN`` and a ``COMMIT`` round trip. Elsewhere it is :meth:`write`."""
        if self.is_sqlite:
            async with self.write() as session:
                yield session
            return
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
        if self.read_engine.sync_engine.pool is not self.engine.sync_engine.pool:
            await self.read_engine.dispose()


def open_database(url: str) -> Database:
    engine = make_engine(url, immediate=True)
    if engine.dialect.name == "sqlite":
        read_engine = make_engine(url, immediate=False)
    else:  # the same pool; its sessions skip BEGIN and COMMIT (see the module's docstring)
        read_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
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
