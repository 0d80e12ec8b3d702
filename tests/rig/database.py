"""Which database tests run on: SQLite files by default; PostgreSQL when
``CHAPTERHOUSE_TEST_DATABASE_URL`` names a server where the tests may create databases
(``postgresql+asyncpg://user@host:port/postgres``). Each node gets a database of its own."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

ENV = "CHAPTERHOUSE_TEST_DATABASE_URL"


def on_postgresql() -> bool:
    return bool(os.environ.get(ENV))


async def fresh_database_url(data_dir: Path) -> str:
    """A new, empty database for one node."""
    server = os.environ.get(ENV)
    if not server:
        return f"sqlite+aiosqlite:///{data_dir / 'chapterhouse.db'}"
    return await create_database(server, "t_")


async def create_database(server: str, prefix: str) -> str:
    """Create an empty database on the PostgreSQL ``server``; returns its URL."""
    name = f"{prefix}{uuid.uuid4().hex[:16]}"
    await _administer(server, f'CREATE DATABASE "{name}"')
    return make_url(server).set(database=name).render_as_string(hide_password=False)


async def drop_database(server: str, database_url: str) -> None:
    name = make_url(database_url).database
    await _administer(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _administer(server: str, statement: str) -> None:
    """Run a statement on the server's maintenance database (outside any transaction)."""
    import asyncpg  # type: ignore[import-untyped]

    url = make_url(server)
    conn = await asyncpg.connect(
        user=url.username,
        password=url.password,
        host=url.host,
        port=url.port or 5432,
        database=url.database or "postgres",
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
