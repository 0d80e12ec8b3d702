"""Action calls (ours and those received from followed chapters), their participants, and
our members' commitments to calls elsewhere."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.types import JSONDocument, UTCDateTime


class ActionCall(Base):
    __tablename__ = "action_calls"
    __table_args__ = (
        Index("ix_action_calls_chapter_start", "chapter", "start_time"),
        Index("ix_action_calls_start_time", "start_time"),  # the reminder sweep
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    chapter: Mapped[str] = mapped_column(String(2048))  # attributedTo
    local_actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("local_actors.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    end_time: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    capacity: Mapped[int | None] = mapped_column(Integer)
    participant_count: Mapped[int] = mapped_column(Integer, default=0)
    document: Mapped[Any] = mapped_column(JSONDocument)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)  # version of the document we hold
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: For a call adopted from a campaign's call: {"changed": [fields the chapter changed],
    #: "upstream": {field: the campaign call's value last applied}, "conflicts": {field: the
    #: campaign call's new value, when the chapter changed it too}}. None for other calls.
    adoption: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    #: The code participants enter on the call page while it runs, to check themselves in.
    checkin_code: Mapped[str | None] = mapped_column(String(32))
    #: People who came without an account or a name (organisers count them at the door).
    walk_ins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: The id of the call's RSVP poll (a ``Question``), once the organisers published one.
    poll: Mapped[str | None] = mapped_column(String(2048))


class Participant(Base):
    """Someone (local or remote) taking part in one of our calls."""

    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("call_id", "actor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("action_calls.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(2048))
    join_activity_id: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: ``accepted`` (holds a place) or ``waitlisted`` (served in ``id`` order when one frees).
    state: Mapped[str] = mapped_column(String(16), default="accepted", server_default="accepted")
    #: The id of the slot (shift or role) taken, for a call split into slots.
    slot: Mapped[str | None] = mapped_column(String(2048))


class Attendance(Base):
    """Someone who came to one of our calls: a participant or a walk-in given by name
    (``actor`` None). Private to the chapter's organisers; only counts are published."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("call_id", "actor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(
        ForeignKey("action_calls.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str | None] = mapped_column(String(2048))
    name: Mapped[str | None] = mapped_column(String(200))
    slot: Mapped[str | None] = mapped_column(String(2048))
    recorded_by: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PollVote(Base):
    """One actor's vote on a call's RSVP poll (a Mastodon ``Create{Note}`` with ``name``)."""

    __tablename__ = "poll_votes"
    __table_args__ = (UniqueConstraint("call_id", "actor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("action_calls.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(2048))
    choice: Mapped[str] = mapped_column(String(200))
    note_id: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Commitment(Base):
    """One of our members' RSVPs (to a call here or elsewhere) and its answer."""

    __tablename__ = "commitments"
    __table_args__ = (UniqueConstraint("member_id", "call"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("local_actors.id", ondelete="CASCADE"))
    call: Mapped[str] = mapped_column(String(2048))
    chapter: Mapped[str] = mapped_column(String(2048))
    join_activity_id: Mapped[str] = mapped_column(String(2048), unique=True)
    state: Mapped[str] = mapped_column(String(16))  # CommitmentState (states.py)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Membership(Base):
    """A member's role in a local chapter (member, organiser, admin)."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("member_id", "chapter_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("local_actors.id", ondelete="CASCADE"))
    chapter_id: Mapped[int] = mapped_column(ForeignKey("local_actors.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
