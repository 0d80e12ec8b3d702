"""the directory: the nodes we read directories from, and the chapters and campaigns we know

- ``directory_nodes``: one row per origin whose ``/directory`` this node reads (how it was
  learned: seed, follow, campaign, peer), with the validators of the last answer (``etag``,
  ``last_modified``) and its schedule (``next_fetch_at``, at least an hour apart; a lease in
  ``locked_until``).
- ``directory_entries``: the chapters and campaigns known (ours too, ``local``), with place,
  area, topics, languages and follower counts; ``search_text`` is what the text index covers:
  an FTS5 table ``directory_fts`` kept in sync by triggers on SQLite, a GIN index over
  ``to_tsvector('simple', search_text)`` on PostgreSQL.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_FTS = (
    "CREATE VIRTUAL TABLE directory_fts USING fts5(search_text, content='directory_entries',"
    " content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER directory_fts_insert AFTER INSERT ON directory_entries BEGIN"
    " INSERT INTO directory_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER directory_fts_delete AFTER DELETE ON directory_entries BEGIN"
    " INSERT INTO directory_fts(directory_fts, rowid, search_text)"
    " VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER directory_fts_update AFTER UPDATE OF search_text ON directory_entries BEGIN"
    " INSERT INTO directory_fts(directory_fts, rowid, search_text)"
    " VALUES ('delete', old.id, old.search_text);"
    " INSERT INTO directory_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
)
_POSTGRES_FTS = (
    "CREATE INDEX ix_directory_entries_fts ON directory_entries"
    " USING gin (to_tsvector('simple'::regconfig, search_text))"
)


def upgrade() -> None:
    op.create_table(
        "directory_nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=300), nullable=False),
        sa.Column("learned", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("etag", sa.String(length=512), nullable=True),
        sa.Column("last_modified", sa.String(length=64), nullable=True),
        sa.Column("next_fetch_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("locked_until", storage.types.UTCDateTime(), nullable=True),
        sa.Column("fetched_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_nodes")),
        sa.UniqueConstraint("origin", name=op.f("uq_directory_nodes_origin")),
    )
    op.create_index(op.f("ix_directory_nodes_next_fetch_at"), "directory_nodes", ["next_fetch_at"])
    op.create_table(
        "directory_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.String(length=2048), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("place_name", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("radius_km", sa.Float(), nullable=True),
        sa.Column("topics", storage.types.JSONDocument(), nullable=True),
        sa.Column("languages", storage.types.JSONDocument(), nullable=True),
        sa.Column("followers", sa.Integer(), nullable=True),
        sa.Column("origin", sa.String(length=300), nullable=False),
        sa.Column("local", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("search_text", sa.Text(), server_default="", nullable=False),
        sa.Column("topic_keys", sa.Text(), server_default="|", nullable=False),
        sa.Column("language_keys", sa.Text(), server_default="|", nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_entries")),
        sa.UniqueConstraint("actor_id", name=op.f("uq_directory_entries_actor_id")),
    )
    op.create_index(op.f("ix_directory_entries_origin"), "directory_entries", ["origin"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_FTS)
    else:
        for statement in _SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_directory_entries_fts")
    else:
        for name in ("directory_fts_update", "directory_fts_delete", "directory_fts_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS directory_fts")
    op.drop_index(op.f("ix_directory_entries_origin"), table_name="directory_entries")
    op.drop_table("directory_entries")
    op.drop_index(op.f("ix_directory_nodes_next_fetch_at"), table_name="directory_nodes")
    op.drop_table("directory_nodes")
