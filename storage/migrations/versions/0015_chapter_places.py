"""where chapters are, what they speak, and where they moved

- ``local_actors``: a chapter's place (``place_name``, ``address``, ``latitude``,
  ``longitude``), the area it serves (``radius_km`` or named ``regions``), its ``languages``
  (BCP 47 tags) and ``topics`` (hashtags without ``#``); published in its ``Group`` actor and
  in the node's directory.
- ``local_actors.language``: a member's chosen language for pages and e-mail (None: the
  browser's, then the node's default).
- ``local_actors.moved_to`` (the actor a chapter moved to, once exported and announced with
  ``Move``) and ``local_actors.also_known_as`` (the actors an imported chapter was before; a
  ``Move`` is only followed to an actor that names its origin there).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("place_name", sa.Text),
    ("address", sa.Text),
    ("latitude", sa.Float),
    ("longitude", sa.Float),
    ("radius_km", sa.Float),
)
_LISTS = ("regions", "languages", "topics", "also_known_as")


def upgrade() -> None:
    with op.batch_alter_table("local_actors") as batch:
        for name, kind in _COLUMNS:
            batch.add_column(sa.Column(name, kind(), nullable=True))
        for name in _LISTS:
            batch.add_column(sa.Column(name, storage.types.JSONDocument(), nullable=True))
        batch.add_column(sa.Column("language", sa.String(length=35), nullable=True))
        batch.add_column(sa.Column("moved_to", sa.String(length=2048), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("local_actors") as batch:
        for name in ("moved_to", "language", *reversed(_LISTS)):
            batch.drop_column(name)
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
