"""hostile peers, round two: revocable sessions, expiring invitations, inbox backoff,
superseded keys, stored rollup verifications, resolvable abuse reports

``local_actors.session_epoch`` is copied into each session cookie; raising it signs every
session of that member out. ``invitations.expires_at`` bounds a link's life.
``inbox_items.next_attempt_at`` lets a failed item wait (exponential backoff) instead of
returning to the head of the queue. ``superseded_keys`` lists key ids an actor ``Update``
replaced, so every process refuses them (processes learn it through the database, not
memory). ``rollup_verifications`` keeps one verification result per campaign and rollup
version, computed in the background and served to visitors. ``flags`` learn who resolved
them and how.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("local_actors") as batch:
        batch.add_column(
            sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(
            sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("inbox_items") as batch:
        batch.add_column(
            sa.Column("next_attempt_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("flags") as batch:
        batch.add_column(sa.Column("resolved_by", sa.String(length=2048), nullable=True))
        batch.add_column(sa.Column("resolution", sa.Text(), nullable=True))
    op.create_table(
        "superseded_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=2048), nullable=False),
        sa.Column("actor", sa.String(length=2048), nullable=False),
        sa.Column("superseded_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_superseded_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_superseded_keys_key_id")),
    )
    op.create_table(
        "rollup_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("result", storage.types.JSONDocument(), nullable=True),
        sa.Column("requested_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("computed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["local_actors.id"],
            name=op.f("fk_rollup_verifications_campaign_id_local_actors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_verifications")),
        sa.UniqueConstraint(
            "campaign_id", "version", name=op.f("uq_rollup_verifications_campaign_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("rollup_verifications")
    op.drop_table("superseded_keys")
    with op.batch_alter_table("flags") as batch:
        batch.drop_column("resolution")
        batch.drop_column("resolved_by")
    with op.batch_alter_table("inbox_items") as batch:
        batch.drop_column("next_attempt_at")
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("expires_at")
    with op.batch_alter_table("local_actors") as batch:
        batch.drop_column("session_epoch")
