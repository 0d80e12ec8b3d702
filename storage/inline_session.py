"""ORM units of work on SQLite in the event loop's own thread: no driver hand-off per statement.

The inbox worker handles a batch of items in one transaction, and its handlers speak to the
database through the ``AsyncSession`` API. Through aiosqlite every statement is a hand-off to the
driver's thread and back; on a busy, single-core node each costs far more than the statement
(the threads wait for the CPU and for the GIL), so a batch of a few hundred statements spent its
time waiting. :class:`InlineSessions` gives the same API over a synchronous ``Session`` on a
connection of its own, opened in the loop's thread: each ``await`` completes at once.

As with :mod:`storage.inline`, it never waits for SQLite's write lock (busy timeout zero): when
another connection holds it, :meth:`InlineSessions.write` raises :class:`InlineBusy` before
anything is done, and the caller takes the ordinary async path. It never checkpoints either
(the owner does that on a worker thread). Only the methods our repositories use are offered;
using another is an ``AttributeError``, never a silent fallback to a blocking call.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from storage.inline import InlineBusy, inline_capable


class InlineSession:
    """The part of ``AsyncSession``'s interface the repositories use, over a sync ``Session``."""

    def __init__(self, session: Session) -> None:
        self.sync_session = session

    async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        return self.sync_session.execute(statement, *args, **kwargs)

    async def scalars(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        return self.sync_session.scalars(statement, *args, **kwargs)

    async def scalar(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        return self.sync_session.scalar(statement, *args, **kwargs)

    async def get(self, entity: Any, ident: Any, **kwargs: Any) -> Any:
        return self.sync_session.get(entity, ident, **kwargs)

    async def flush(self, objects: Sequence[Any] | None = None) -> None:
        self.sync_session.flush(objects)

    async def refresh(self, instance: Any, *args: Any, **kwargs: Any) -> None:
        self.sync_session.refresh(instance, *args, **kwargs)

    async def delete(self, instance: Any) -> None:
        self.sync_session.delete(instance)

    def add(self, instance: Any) -> None:
        self.sync_session.add(instance)

    def add_all(self, instances: Iterable[Any]) -> None:
        self.sync_session.add_all(instances)

    def expire(self, instance: Any, *args: Any) -> None:
        self.sync_session.expire(instance, *args)

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        return self.sync_session.get_bind(*args, **kwargs)

    @property
    def new(self) -> Any:
        return self.sync_session.new

    @property
    def dirty(self) -> Any:
        return self.sync_session.dirty

    @property
    def deleted(self) -> Any:
        return self.sync_session.deleted


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the "begin" event starts transactions
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")  # never wait: fail, and let the caller wait
    cursor.execute("PRAGMA wal_autocheckpoint=0")  # never stall the loop copying pages
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _query_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def _busy(exc: OperationalError) -> bool:
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    return code in {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED} or "locked" in str(orig)


class InlineSessions:
    """Write units of work on one synchronous connection to an SQLite file, and short reads
    on another (``read``: the inbox's acceptance checks, see ``storage.loop_reads``)."""

    def __init__(self, url: str) -> None:
        if not inline_capable(url):
            raise ValueError(f"not an SQLite database file: {url}")
        self._path = make_url(url).database or ""
        self._engine: Engine | None = None
        self._reader: Engine | None = None
        self._reading = False

    def _sync_engine(self) -> Engine:
        """Opened on first use, in the thread that uses it (the event loop's)."""
        if self._engine is None:
            engine = create_engine(f"sqlite:///{self._path}", poolclass=StaticPool)
            event.listen(engine, "connect", _pragmas)

            @event.listens_for(engine, "begin")
            def on_begin(conn: Any) -> None:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

            self._engine = engine
        return self._engine

    def _read_engine(self) -> Engine:
        """A connection of its own for reads: it never sees a write batch's uncommitted rows,
        and (WAL) its snapshot never waits for a writer. ``query_only``: it cannot write."""
        if self._reader is None:
            engine = create_engine(f"sqlite:///{self._path}", poolclass=StaticPool)
            event.listen(engine, "connect", _pragmas)
            event.listen(engine, "connect", _query_only)

            @event.listens_for(engine, "begin")
            def on_begin(conn: Any) -> None:
                conn.exec_driver_sql("BEGIN")

            self._reader = engine
        return self._reader

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A short read in the loop's thread, typed as the ``AsyncSession`` whose interface it
        offers. Raises :class:`InlineBusy` when SQLite answers busy (never waited for) or when
        another read holds the connection (a body that awaited something else): the caller
        reads again the async way (``storage.loop_reads``)."""
        if self._reading:
            raise InlineBusy("the inline read connection is in use")
        self._reading = True
        session = Session(self._read_engine(), expire_on_commit=False)
        try:
            yield cast(AsyncSession, InlineSession(session))
        except OperationalError as exc:
            if _busy(exc):
                raise InlineBusy(str(exc.orig)) from exc
            raise
        finally:
            session.close()  # ends the read transaction: the next read sees a new snapshot
            self._reading = False

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write unit of work (commits on success, rolls back on error), typed as the
        ``AsyncSession`` whose interface it offers. Raises :class:`InlineBusy`, having done
        nothing, when another connection holds the write lock."""
        session = Session(self._sync_engine(), expire_on_commit=False)
        try:
            try:
                session.connection()  # BEGIN IMMEDIATE now, before the caller does anything
            except OperationalError as exc:
                if _busy(exc):
                    raise InlineBusy(str(exc.orig)) from exc
                raise
            yield cast(AsyncSession, InlineSession(session))
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._reader is not None:
            self._reader.dispose()
            self._reader = None
