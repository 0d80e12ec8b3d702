"""Engines and sessions: SQLite (WAL) by default, PostgreSQL by URL.

SQLite allows one writer at a time. A transaction that reads first and writes later can fail
at once with ``database is locked`` when another connection wrote in between, whatever the
busy timeout. Write units of work therefore start with ``BEGIN IMMEDIATE`` (taking the write
lock up front, waiting up to ``busy_timeout``), while read-only sessions use a second engine
with ordinary deferred transactions so readers never queue behind writers (WAL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 30_000


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
    )


def sqlite_url(path: str) -> str:
    return f"sqlite+aiosqlite:///{path}"
