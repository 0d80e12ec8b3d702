"""indexes for the busiest read paths of a large node

The outbox index now holds ``public`` too, so counting an actor's public activities
(``totalItems``) and paging through them read the index alone, never the bodies.
``local_actors.kind`` is indexed for NodeInfo's per-kind counts (members are most rows).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_activities_actor_public_id",
        "outbox_activities",
        ["actor_id", "public", "id"],
    )
    op.drop_index("ix_outbox_activities_actor_id_id", table_name="outbox_activities")
    op.create_index(op.f("ix_local_actors_kind"), "local_actors", ["kind"])


def downgrade() -> None:
    op.drop_index(op.f("ix_local_actors_kind"), table_name="local_actors")
    op.create_index("ix_outbox_activities_actor_id_id", "outbox_activities", ["actor_id", "id"])
    op.drop_index("ix_outbox_activities_actor_public_id", table_name="outbox_activities")
