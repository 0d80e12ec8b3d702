"""the organiser's tools: notifications and reminders, attendance, waitlists, shifts, polls

- ``local_actors.email`` (a member's address, for notifications), ``local_actors.reminders``
  (a member may turn reminders off), ``local_actors.reminder_offsets`` (a chapter's own
  reminder offsets in minutes, overriding the node's ``reminder_offsets_minutes``).
- ``participants.state`` (``accepted`` or ``waitlisted``; places are counted over accepted
  ones, the waiting list is served in ``id`` order) and ``participants.slot`` (the id of the
  shift or role taken, for calls split into slots).
- ``action_calls.checkin_code`` (the code participants enter on the call page while it runs),
  ``action_calls.walk_ins`` (people who came without an account and without a name) and
  ``action_calls.poll`` (the id of the call's RSVP ``Question``, once published); an index on
  ``action_calls.start_time`` for the reminder sweep (calls starting soon, any chapter).
- ``attendance``: who came to a local call (organisers only; only counts are published).
- ``poll_votes``: one vote per actor on a call's RSVP poll.
- ``notifications``: one durable row per person and event; its channels (the in-app list, a
  direct message to a remote participant, an e-mail) are all sent from it.
- ``reminders``: one row per call, offset and start time; a reminder is sent once, when due,
  and never for a cancelled call or a start that has moved since.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("local_actors") as batch:
        batch.add_column(sa.Column("email", sa.String(length=320), nullable=True))
        batch.add_column(
            sa.Column("reminders", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("reminder_offsets", storage.types.JSONDocument(), nullable=True))
    with op.batch_alter_table("participants") as batch:
        batch.add_column(
            sa.Column("state", sa.String(length=16), nullable=False, server_default="accepted")
        )
        batch.add_column(sa.Column("slot", sa.String(length=2048), nullable=True))
    with op.batch_alter_table("action_calls") as batch:
        batch.add_column(sa.Column("checkin_code", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("walk_ins", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("poll", sa.String(length=2048), nullable=True))
    # The reminder sweep looks every half minute for calls starting soon, whatever chapter.
    op.create_index("ix_action_calls_start_time", "action_calls", ["start_time"])
    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "call_id",
            sa.Integer(),
            sa.ForeignKey("action_calls.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=2048), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("slot", sa.String(length=2048), nullable=True),
        sa.Column("recorded_by", sa.String(length=2048), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("call_id", "actor"),
    )
    op.create_index("ix_attendance_call_id", "attendance", ["call_id"])
    op.create_table(
        "poll_votes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "call_id",
            sa.Integer(),
            sa.ForeignKey("action_calls.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=2048), nullable=False),
        sa.Column("choice", sa.String(length=200), nullable=False),
        sa.Column("note_id", sa.String(length=2048), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("call_id", "actor"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "member_id",
            sa.Integer(),
            sa.ForeignKey("local_actors.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("recipient", sa.String(length=2048), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("call", sa.String(length=2048), nullable=True),
        sa.Column("data", storage.types.JSONDocument(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("read_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("dm_activity", sa.String(length=2048), nullable=True),
        sa.Column("email_state", sa.String(length=16), nullable=True),
        sa.UniqueConstraint("recipient", "key"),
    )
    op.create_index("ix_notifications_member_read", "notifications", ["member_id", "read_at", "id"])
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "call_id",
            sa.Integer(),
            sa.ForeignKey("action_calls.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("offset_minutes", sa.Integer(), nullable=False),
        sa.Column("start_time", storage.types.UTCDateTime(), nullable=False),
        sa.Column("due_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("sent_at", storage.types.UTCDateTime(), nullable=True),
        sa.UniqueConstraint("call_id", "offset_minutes", "start_time"),
    )
    op.create_index("ix_reminders_state_due", "reminders", ["state", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_reminders_state_due", table_name="reminders")
    op.drop_table("reminders")
    op.drop_index("ix_notifications_member_read", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("poll_votes")
    op.drop_index("ix_attendance_call_id", table_name="attendance")
    op.drop_table("attendance")
    op.drop_index("ix_action_calls_start_time", table_name="action_calls")
    with op.batch_alter_table("action_calls") as batch:
        batch.drop_column("poll")
        batch.drop_column("walk_ins")
        batch.drop_column("checkin_code")
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("slot")
        batch.drop_column("state")
    with op.batch_alter_table("local_actors") as batch:
        batch.drop_column("reminder_offsets")
        batch.drop_column("reminders")
        batch.drop_column("email")
