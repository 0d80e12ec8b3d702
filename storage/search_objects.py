"""The full-text search objects the models do not describe, and the filter that keeps Alembic's
autogenerate from proposing to drop them.

Migration 0016 makes them by hand: on SQLite an FTS5 table ``directory_fts`` (and the shadow
tables FTS5 keeps beside it), on PostgreSQL a GIN expression index. SQLAlchemy has no model for
either, so a comparison of the models with a migrated database would see them as strays.
"""

from __future__ import annotations

from typing import Final

#: The FTS5 table; its shadow tables are named after it (``directory_fts_data``...).
FTS_TABLE: Final = "directory_fts"
#: PostgreSQL's expression index over ``directory_entries.search_text``.
FTS_INDEX: Final = "ix_directory_entries_fts"


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's ``include_object`` hook: leave the hand-made search objects out of the
    comparison (only when they come from the database and the models have no counterpart)."""
    if not reflected or compare_to is not None or name is None:
        return True
    if type_ == "table" and (name == FTS_TABLE or name.startswith(FTS_TABLE + "_")):
        return False
    return not (type_ == "index" and name == FTS_INDEX)
