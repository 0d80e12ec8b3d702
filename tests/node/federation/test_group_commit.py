"""The group-commit writer: one transaction for many inbox rows, duplicates and conflicts told apart.

Fresh ids are inserted; a repeat with the same fingerprint is a harmless duplicate (in one batch
or across batches); the same id with another fingerprint is refused, whether the other version
is in the same batch or already stored.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from node.federation.inbox.group_commit import ActivityIdConflict, GroupCommitWriter
from storage.engine import Database, open_database
from storage.inline import inline_capable
from storage.migrate import migrate
from storage.models import InboxItem
from tests.rig.database import fresh_database_url


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = open_database(await fresh_database_url(tmp_path))
    await migrate(database.engine)
    yield database
    await database.dispose()


def row(n: int, fingerprint: str = "a" * 64) -> dict[str, Any]:
    return {
        "activity_id": f"https://peer.example/activities/{n}",
        "activity_type": "Create",
        "actor": "https://peer.example/users/alice",
        "body": b'{"type": "Create"}',
        "body_sha256": fingerprint,
        "state": "received",
        "attempts": 0,
        "received_at": datetime(2027, 4, 12, 10, 0, tzinfo=UTC),
    }


async def stored(db: Database) -> dict[str, str]:
    async with db.read() as session:
        rows = await session.execute(select(InboxItem.activity_id, InboxItem.body_sha256))
        return {a: b for a, b in rows}


async def submit_all(
    writer: GroupCommitWriter, rows: list[dict[str, Any]]
) -> list[BaseException | None]:
    """Submit concurrently (so one batch can hold them all) and collect each outcome."""
    return await asyncio.gather(*(writer.submit(r) for r in rows), return_exceptions=True)


async def test_fresh_rows_are_stored_in_one_go_and_wake_the_worker(db: Database) -> None:
    woken = asyncio.Event()
    writer = GroupCommitWriter(db, woken)
    task = asyncio.create_task(writer.run())
    try:
        outcomes = await submit_all(writer, [row(n) for n in range(50)])
    finally:
        task.cancel()
    assert outcomes == [None] * 50
    assert len(await stored(db)) == 50
    assert woken.is_set()


async def test_duplicates_are_accepted_once_and_conflicts_refused(db: Database) -> None:
    writer = GroupCommitWriter(db, asyncio.Event())
    task = asyncio.create_task(writer.run())
    try:
        assert await submit_all(writer, [row(1), row(2, "b" * 64)]) == [None, None]
        outcomes = await submit_all(
            writer,
            [
                row(1),  # stored before, same fingerprint: a duplicate
                row(2, "c" * 64),  # stored before, another fingerprint: a conflict
                row(3),  # new...
                row(3),  # ...and repeated in the same batch: a duplicate
                row(4, "d" * 64),  # new...
                row(4, "e" * 64),  # ...and changed in the same batch: a conflict
                row(5),
            ],
        )
    finally:
        task.cancel()
    assert [type(o) if o else None for o in outcomes] == [
        None,
        ActivityIdConflict,
        None,
        None,
        None,
        ActivityIdConflict,
        None,
    ]
    assert await stored(db) == {
        "https://peer.example/activities/1": "a" * 64,
        "https://peer.example/activities/2": "b" * 64,
        "https://peer.example/activities/3": "a" * 64,
        "https://peer.example/activities/4": "d" * 64,
        "https://peer.example/activities/5": "a" * 64,
    }


async def test_a_failed_transaction_fails_every_waiter(db: Database) -> None:
    writer = GroupCommitWriter(db, asyncio.Event())
    task = asyncio.create_task(writer.run())
    broken = row(1) | {"state": None}  # NOT NULL: the whole batch is rolled back
    try:
        outcomes = await submit_all(writer, [row(0), broken])
    finally:
        task.cancel()
    assert all(isinstance(o, Exception) for o in outcomes)
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(InboxItem)) == 0


async def test_a_taken_write_lock_sends_the_batch_through_the_async_path(db: Database) -> None:
    """Inline writes never wait for SQLite's lock; the async path waits for it instead."""
    if not inline_capable(db.url):
        pytest.skip("inline writes are for SQLite files")
    holder = sqlite3.connect(str(make_url(db.url).database), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
    writer = GroupCommitWriter(db, asyncio.Event())
    task = asyncio.create_task(writer.run())
    try:
        pending = asyncio.ensure_future(writer.submit(row(1)))
        await asyncio.sleep(0.3)
        assert not pending.done()  # waiting for the lock, not refused
        holder.execute("COMMIT")
        await asyncio.wait_for(pending, 10)
    finally:
        holder.close()
        task.cancel()
    assert await stored(db) == {"https://peer.example/activities/1": "a" * 64}


async def test_inline_commits_leave_checkpoints_to_a_worker_thread(tmp_path):
    """The inline connection never checkpoints (disk I/O would stall the event loop); the
    writer has the WAL copied back from the driver's thread instead, so it stays bounded."""
    db = open_database(f"sqlite+aiosqlite:///{tmp_path / 'wal.db'}")
    await migrate(db.engine)
    writer = GroupCommitWriter(db, asyncio.Event(), checkpoint_seconds=0.0)
    runner = asyncio.create_task(writer.run())
    try:
        for batch in range(40):
            await asyncio.gather(
                *(writer.submit({**row(batch * 50 + i), "body": b"x" * 3000}) for i in range(50))
            )
            # Let the checkpoint the batch scheduled finish (however loaded the machine is).
            await asyncio.sleep(0)
            if writer._checkpointing is not None:
                await asyncio.wait({writer._checkpointing}, timeout=5)
        assert writer._inline is not None
        with writer._inline.transaction() as conn:
            assert conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        for _ in range(50):  # the writer's own checkpoint may be running: wait it out (≤ 5 s)
            async with db.read() as session:
                frames = (await session.execute(text("PRAGMA wal_checkpoint(PASSIVE)"))).one()
            if frames[0] == 0:
                break
            await asyncio.sleep(0.1)
        assert frames[0] == 0  # not busy
        wal = tmp_path / "wal.db-wal"
        assert wal.stat().st_size < 4 * 1024 * 1024  # 2,000 rows would need far more unchecked
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await db.dispose()
