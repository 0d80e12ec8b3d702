"""storage.inline: synchronous SQLite write transactions that fail at once instead of waiting."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from storage.engine import Database
from storage.inline import InlineBusy, InlineWriter, inline_capable
from storage.models import InboxItem
from storage.repositories import inbox as inbox_repo


def test_only_sqlite_files_qualify() -> None:
    assert inline_capable("sqlite+aiosqlite:////var/lib/chapterhouse/chapterhouse.db")
    assert not inline_capable("sqlite+aiosqlite://")
    assert not inline_capable("sqlite+aiosqlite:///:memory:")
    assert not inline_capable("sqlite+aiosqlite:///file:x?mode=memory&uri=true")
    assert not inline_capable("postgresql+asyncpg://u@db.example/chapterhouse")
    with pytest.raises(ValueError, match="not an SQLite database file"):
        InlineWriter("postgresql+asyncpg://u@db.example/chapterhouse")


def test_commits_rolls_back_and_never_waits_for_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    writer = InlineWriter(f"sqlite+aiosqlite:///{path}")
    try:
        with writer.transaction() as conn:
            conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(ZeroDivisionError), writer.transaction() as conn:
            conn.execute("INSERT INTO t VALUES (2)")
            raise ZeroDivisionError
        setup.execute("BEGIN IMMEDIATE")  # another connection takes the write lock
        with pytest.raises(InlineBusy), writer.transaction() as conn:
            conn.execute("INSERT INTO t VALUES (3)")
        setup.execute("COMMIT")
        with writer.transaction() as conn:
            conn.execute("INSERT INTO t VALUES (4)")
    finally:
        writer.dispose()
    assert [n for (n,) in setup.execute("SELECT n FROM t ORDER BY n")] == [1, 4]
    setup.close()


async def test_inline_rows_are_stored_exactly_as_the_async_engine_stores_them(db: Database) -> None:
    """The inline path converts values itself: dates and JSON must come out identical."""
    if not inline_capable(db.url):
        pytest.skip("inline writes are for SQLite files")

    def arrival(n: int, when: datetime) -> dict[str, Any]:
        return {
            "activity_id": f"https://peer.example/activities/{n}",
            "activity_type": "Create",
            "actor": "https://peer.example/actors/a",
            "body": b'{"id": "x", "n": 1}',
            "body_sha256": "a" * 64,
            "state": "received",
            "attempts": 0,
            "received_at": when,
        }

    whole_second = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
    fraction = datetime(2026, 11, 26, 13, 0, 0, 45, tzinfo=timezone(timedelta(hours=2)))
    async with db.write() as session:
        assert await inbox_repo.insert_many(session, [arrival(1, whole_second)]) == 1
        assert await inbox_repo.insert_many(session, [arrival(2, fraction)]) == 1
    writer = InlineWriter(db.url)
    try:
        with writer.transaction() as conn:
            rows = [arrival(3, whole_second), arrival(4, fraction), arrival(1, fraction)]
            assert inbox_repo.insert_many_inline(conn, rows) == 2  # the known id is skipped
            assert inbox_repo.known_bodies_inline(conn, ["https://peer.example/activities/4"]) == {
                "https://peer.example/activities/4": "a" * 64
            }
    finally:
        writer.dispose()
    async with db.read() as session:
        stored = (
            await session.execute(
                text("SELECT received_at, body FROM inbox_items ORDER BY activity_id")
            )
        ).all()
        items = (await session.scalars(select(InboxItem).order_by(InboxItem.activity_id))).all()
    assert stored[0] == stored[2] and stored[1] == stored[3]  # same text, either path
    assert [item.received_at for item in items] == [whole_second, fraction, whole_second, fraction]
    assert items[3].body == {"id": "x", "n": 1}
