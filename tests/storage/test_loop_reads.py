"""storage.loop_reads: reads in the loop's thread see what an async read sees, never wait, and
fall back to the async way when the inline connection cannot serve them."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.engine import Database
from storage.inline import InlineBusy, inline_capable
from storage.loop_reads import read_now
from storage.models import NodeCounter


async def _count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(NodeCounter)) or 0)


async def _add(db: Database, name: str) -> None:
    async with db.write() as session:
        session.add(NodeCounter(name=name, value=1))


async def test_reads_committed_rows_only_and_never_a_batch_in_progress(db: Database) -> None:
    if not inline_capable(db.url) or db.inline is None:
        pytest.skip("inline reads are for SQLite files")
    await _add(db, "one")
    assert await read_now(db, _count) == 1
    await _add(db, "two")  # a new snapshot for each read: the row committed since is seen
    assert await read_now(db, _count) == 2
    async with db.inline.write() as batch:  # the inbox worker's batch, not yet committed
        batch.add(NodeCounter(name="three", value=1))
        await batch.flush()
        assert await read_now(db, _count) == 2  # its rows are not visible until it commits
    assert await read_now(db, _count) == 3


async def test_the_inline_read_connection_cannot_write(db: Database) -> None:
    if db.inline is None:
        pytest.skip("inline reads are for SQLite files")
    with pytest.raises(OperationalError, match="readonly|read-only|query_only"):
        async with db.inline.read() as session:
            await session.execute(text("INSERT INTO node_counters (name, value) VALUES ('x', 1)"))
    assert await read_now(db, _count) == 0


async def test_a_busy_or_occupied_inline_reader_falls_back_to_the_async_read(
    db: Database,
) -> None:
    if db.inline is None:
        pytest.skip("inline reads are for SQLite files")
    await _add(db, "one")
    async with db.inline.read():  # a read whose body awaited something else: still open
        with pytest.raises(InlineBusy):
            async with db.inline.read():
                pass
        assert await read_now(db, _count) == 1  # served by the async engine meanwhile

    calls: list[str] = []

    async def busy_then_count(session: AsyncSession) -> int:
        calls.append(type(session).__name__)
        if len(calls) == 1:  # SQLite answers busy on the inline connection: read again
            raise OperationalError("SELECT", {}, sqlite3.OperationalError("database is locked"))
        return await _count(session)

    assert await read_now(db, busy_then_count) == 1
    assert calls == ["InlineSession", "AsyncSession"]
