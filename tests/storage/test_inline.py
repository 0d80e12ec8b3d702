"""storage.inline: synchronous SQLite write transactions that fail at once instead of waiting."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.inline import InlineBusy, InlineWriter, inline_capable


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
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with pytest.raises(ZeroDivisionError), writer.transaction() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))
            raise ZeroDivisionError
        setup.execute("BEGIN IMMEDIATE")  # another connection takes the write lock
        with pytest.raises(InlineBusy), writer.transaction() as conn:
            conn.execute(text("INSERT INTO t VALUES (3)"))
        setup.execute("COMMIT")
        with writer.transaction() as conn:
            conn.execute(text("INSERT INTO t VALUES (4)"))
    finally:
        writer.dispose()
    assert [n for (n,) in setup.execute("SELECT n FROM t ORDER BY n")] == [1, 4]
    setup.close()
