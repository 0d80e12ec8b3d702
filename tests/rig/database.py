"""Which database tests run on: SQLite files by default; PostgreSQL when
``CHAPTERHOUSE_TEST_DATABASE_URL`` names a server where the tests may create databases
(``postgresql+asyncpg://user@host:port/postgres``). Each node gets a database of its own."""

from __future__ import annotations

import os
from pathlib import Path

from bench.rig import create_database

ENV = "CHAPTERHOUSE_TEST_DATABASE_URL"


def on_postgresql() -> bool:
    return bool(os.environ.get(ENV))


async def fresh_database_url(data_dir: Path) -> str:
    """A new, empty database for one node."""
    server = os.environ.get(ENV)
    if not server:
        return f"sqlite+aiosqlite:///{data_dir / 'chapterhouse.db'}"
    return await create_database(server, "t_")
