"""impact a movement can trust: exclusions, units, one live report per (chapter, call)

``campaign_exclusions`` holds what a campaign's organisers (or a block) took out of its totals,
with the reason the signed rollup publishes. A contribution remembers why it is excluded, the
measures left out because their unit does not convert, and the report's values as received.
``campaign_state.units`` is the campaign's unit for each metric (what totals are kept in).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign_exclusions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=2048), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["local_actors.id"],
            name=op.f("fk_campaign_exclusions_campaign_id_local_actors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_exclusions")),
        sa.UniqueConstraint(
            "campaign_id", "target", name=op.f("uq_campaign_exclusions_campaign_id")
        ),
    )
    with op.batch_alter_table("contributions") as batch:
        batch.add_column(sa.Column("excluded", sa.Text(), nullable=True))
        batch.add_column(sa.Column("raw_values", storage.types.JSONDocument(), nullable=True))
        batch.add_column(sa.Column("unit_excluded", storage.types.JSONDocument(), nullable=True))
        batch.create_index(
            "ix_contributions_campaign_chapter_call", ["campaign_id", "chapter", "call"]
        )
    with op.batch_alter_table("campaign_state") as batch:
        batch.add_column(sa.Column("units", storage.types.JSONDocument(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign_state") as batch:
        batch.drop_column("units")
    with op.batch_alter_table("contributions") as batch:
        batch.drop_index("ix_contributions_campaign_chapter_call")
        batch.drop_column("unit_excluded")
        batch.drop_column("raw_values")
        batch.drop_column("excluded")
    op.drop_table("campaign_exclusions")
