"""Alembic environment: migrations run on a connection handed over by ``storage.migrate``,
or, from the ``alembic`` command line, on ``DATABASE_URL``."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from storage import models  # noqa: F401  (registers the tables)
from storage.base import Base
from storage.engine import make_engine
from storage.search_objects import include_object

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online_async(url: str) -> None:
    engine = make_engine(url, immediate=False)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    database_url = os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not database_url:
        raise SystemExit("set DATABASE_URL to the database to migrate")
    asyncio.run(_run_online_async(database_url))
