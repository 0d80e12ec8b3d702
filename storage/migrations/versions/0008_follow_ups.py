"""follow-ups of inbound activities as durable rows

Work an inbound activity causes beyond its own transaction (fetching an unknown call, the
sources of a rollup, a relayed object, reading a newly followed chapter's outbox) is written
in that transaction as a ``follow_ups`` row and claimed by a worker, like a delivery.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("payload", storage.types.JSONDocument(), nullable=False),
        sa.Column("host", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_follow_ups_kind")),
    )
    op.create_index(
        "ix_follow_ups_state_next_attempt_at", "follow_ups", ["state", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_follow_ups_state_next_attempt_at", table_name="follow_ups")
    op.drop_table("follow_ups")
