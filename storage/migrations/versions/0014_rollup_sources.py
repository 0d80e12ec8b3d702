"""rollup sources kept apart: the reports a published rollup counts, served in pages

- ``campaign_state.rollup_sources``: the ``[report, chapter, sha256]`` of every report the
  published rollup counts, in its order. A rollup naming more than ``rollup_inline_sources``
  links to them instead of listing them (``protocol/rollup_sources.py``), and
  ``/actors/{name}/rollup/sources`` serves these pages of the very version it pinned. Rollups
  published before this revision list their sources inline: nothing to fill.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rollup_sources", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign_state", schema=None) as batch_op:
        batch_op.drop_column("rollup_sources")
