"""calls that stay true: a chapter's time zone, adopted calls that follow their campaign's call,
members who choose to show their commitments

``local_actors.timezone`` is the IANA zone a chapter's calls default to (its web form asks for
local times in it). ``action_calls.adoption`` keeps, for a call adopted from a campaign's call,
the fields the chapter changed locally, the campaign call's values last applied, and conflicts
waiting for the organisers' choice. ``local_actors.show_commitments`` lets a member's profile
page list their public commitments.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("local_actors") as batch:
        batch.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("show_commitments", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("action_calls") as batch:
        batch.add_column(sa.Column("adoption", storage.types.JSONDocument(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("action_calls") as batch:
        batch.drop_column("adoption")
    with op.batch_alter_table("local_actors") as batch:
        batch.drop_column("show_commitments")
        batch.drop_column("timezone")
