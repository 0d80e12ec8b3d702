"""PostgreSQL round trips (storage/engine.py, storage/repositories/inbox.py): read sessions and
single-statement units of work send no BEGIN or COMMIT, a busy pooled connection is not probed
before use while an idle one still is, and a batch of inbox arrivals is one statement text
whatever its size. SQLite keeps its transactions (these tests skip there, except the last)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Engine

from storage import engine as engine_module
from storage.engine import Database
from storage.models import InboxItem
from storage.repositories import counters
from storage.repositories import inbox as inbox_repo

NOW = datetime(2027, 3, 1, 12, tzinfo=UTC)


def _postgres_only(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("PostgreSQL round trips")


class Statements:
    """The SQL each engine of the process sends, as the driver's cursor sees it."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        event.listen(Engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.sent.append(statement)

    def close(self) -> None:
        event.remove(Engine, "before_cursor_execute", self._seen)


@pytest.fixture
def statements() -> Iterator[Statements]:
    seen = Statements()
    yield seen
    seen.close()


async def _started_at(db: Database) -> list[datetime]:
    async with db.read() as session:
        first = await session.scalar(text("SELECT transaction_timestamp()"))
        await asyncio.sleep(0.05)
        second = await session.scalar(text("SELECT transaction_timestamp()"))
    return [first, second]


async def test_a_read_session_is_a_statement_each_without_begin(db: Database) -> None:
    """Inside a transaction both statements would report the one BEGIN's time."""
    _postgres_only(db)
    first, second = await _started_at(db)
    assert second > first


async def test_a_single_statement_unit_commits_durably_without_begin(db: Database) -> None:
    _postgres_only(db)
    async with db.statement() as session:
        first = await session.scalar(text("SELECT transaction_timestamp()"))
        await asyncio.sleep(0.05)
        second = await session.scalar(text("SELECT transaction_timestamp()"))
        await counters.add(session, "probe", 3)
    assert second > first
    # Seen from another connection at once: the statement committed on its own.
    async with db.engine.connect() as other:
        assert await other.scalar(text("SELECT value FROM node_counters WHERE name = 'probe'")) == 3


async def test_a_busy_connection_is_not_probed_but_an_idle_one_is(
    db: Database, statements: Statements, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe (``BEGIN``, a query, ``ROLLBACK``) goes past the cursor events: count calls."""
    _postgres_only(db)
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

    probes: list[object] = []
    real_ping = AsyncAdapt_asyncpg_connection.ping

    def ping(self: AsyncAdapt_asyncpg_connection) -> None:
        probes.append(self)
        real_ping(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", ping)
    for _ in range(3):
        async with db.read() as session:
            await session.scalar(text("SELECT 1"))
    assert probes == []
    assert statements.sent == ["SELECT 1"] * 3  # nothing else through the cursor either

    # A connection whose server process went away while it sat idle is replaced unseen.
    monkeypatch.setattr(engine_module, "POSTGRES_PING_IDLE_SECONDS", 0.0)
    async with db.engine.connect() as other:  # held: the read below gets another connection
        async with db.read() as session:
            victim = await session.scalar(text("SELECT pg_backend_pid()"))
        await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim})
        await other.commit()
    await asyncio.sleep(0.1)
    probes.clear()
    async with db.read() as session:
        assert await session.scalar(text("SELECT pg_backend_pid()")) != victim
    assert probes  # the idle connection was probed, found dead, and replaced


def _arrival(n: int) -> dict[str, Any]:
    body = f'{{"id": "https://a.example/{n}"}}'.encode()
    return {
        "activity_id": f"https://a.example/{n}",
        "activity_type": "Create",
        "actor": "https://a.example/x",
        "body": body,
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "state": "received",
        "attempts": 0,
        "received_at": NOW,
    }


async def test_arrival_batches_of_any_size_are_one_statement_in_order(
    db: Database, statements: Statements
) -> None:
    """One text for every batch size (prepared once per connection), rows in arrival order,
    known ids skipped and counted out."""
    _postgres_only(db)
    async with db.statement() as session:
        assert await inbox_repo.insert_many(session, [_arrival(n) for n in (5, 3, 9)]) == 3
    async with db.statement() as session:
        batch = [_arrival(n) for n in (3, 7, 1, 1)]  # 3 is known, 1 comes twice
        assert await inbox_repo.insert_many(session, batch) == 2
    inserts = [s for s in statements.sent if s.startswith("INSERT INTO inbox_items")]
    assert len(inserts) == 2 and inserts[0] == inserts[1]
    async with db.read() as session:
        rows = await session.execute(select(InboxItem.activity_id).order_by(InboxItem.id))
        assert [r[0].rsplit("/", 1)[1] for r in rows] == ["5", "3", "9", "7", "1"]
        received = await inbox_repo.next_received(session, 10, now=NOW)
    assert received[0].body == {"id": "https://a.example/5"}


async def test_the_counter_is_one_upsert_on_every_database(
    db: Database, statements: Statements
) -> None:
    async with db.write() as session:
        await counters.add(session, counters.INBOX_HANDLED, 2)
        await counters.add(session, counters.INBOX_HANDLED, 5)
    async with db.read() as session:
        assert await counters.value(session, counters.INBOX_HANDLED) == 7
        assert await session.scalar(select(func.count()).select_from(InboxItem)) == 0
    upserts = [s for s in statements.sent if "node_counters" in s]
    assert len(upserts) == 3  # two upserts and the read
