"""The models and the migrations describe the same database.

A model that drifts from its migration (a column's nullability, a missing index) goes unseen
until `alembic revision --autogenerate` proposes to undo it, or a fresh database differs from an
upgraded one. This compares the models with a freshly migrated database (SQLite, or PostgreSQL
when the suite runs on it), as autogenerate would, with the node's own filter for the
hand-made full-text search objects (storage/search_objects.py).
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from storage import models  # noqa: F401  (registers the tables)
from storage.base import Base
from storage.engine import Database
from storage.search_objects import include_object


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={"include_object": include_object, "compare_type": True},
    )
    return list(compare_metadata(context, Base.metadata))


async def test_a_migrated_database_is_what_the_models_describe(db: Database) -> None:
    async with db.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == [], "\n".join(map(repr, differences))


async def test_the_search_objects_are_in_the_database_but_left_out_of_the_comparison(
    db: Database,
) -> None:
    """The filter hides only what migration 0016 made by hand, and it is there."""

    def unfiltered(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with db.engine.connect() as connection:
        strays = await connection.run_sync(unfiltered)
    names = {getattr(diff[1], "name", None) for diff in strays if diff[0].startswith("remove_")}
    assert names & {"directory_fts", "ix_directory_entries_fts"}
    for name in names & {"directory_fts", "ix_directory_entries_fts"}:
        kind = "index" if name.startswith("ix_") else "table"
        assert not include_object(None, name, kind, True, None)
    assert include_object(None, "directory_entries", "table", True, None)
