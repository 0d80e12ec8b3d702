"""Helpers the benchmarks share with the test suite. They live here because ``bench`` must not
import ``tests`` (a benchmark runs without the test tree's fixtures); the tests import them from
here instead. Node processes and free ports are ``node.ops.cluster``'s.
"""

from __future__ import annotations

import uuid

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url


async def create_database(server: str, prefix: str, template: str | None = None) -> str:
    """Create a database on the PostgreSQL ``server``, empty or a copy of the ``template``
    database's URL (which nobody may be connected to); returns its URL."""
    name = f"{prefix}{uuid.uuid4().hex[:16]}"
    copy = f' TEMPLATE "{make_url(template).database}"' if template else ""
    await _administer(server, f'CREATE DATABASE "{name}"{copy}')
    return make_url(server).set(database=name).render_as_string(hide_password=False)


async def drop_database(server: str, database_url: str) -> None:
    name = make_url(database_url).database
    await _administer(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _administer(server: str, statement: str) -> None:
    """Run a statement on the server's maintenance database (outside any transaction)."""
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
