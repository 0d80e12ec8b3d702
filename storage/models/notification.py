"""Notifications (one durable row per person and event) and scheduled reminders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.types import JSONDocument, UTCDateTime


class Notification(Base):
    """Something a person is told: a local member (``member_id``; the in-app list and, with
    an address, an e-mail) or a remote participant (``member_id`` None; a direct message).
    ``key`` makes it once per person and event, however many times the event is seen."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("recipient", "key"),
        Index("ix_notifications_member_read", "member_id", "read_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("local_actors.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(2048))  # the person's actor id
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(1024))
    call: Mapped[str | None] = mapped_column(String(2048))
    data: Mapped[Any] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The id of the direct message that carried it (remote recipients).
    dm_activity: Mapped[str | None] = mapped_column(String(2048))
    #: ``pending``, ``sent`` or ``dead`` once an e-mail is due; None when none is.
    email_state: Mapped[str | None] = mapped_column(String(16))


class Reminder(Base):
    """A reminder of one call, ``offset_minutes`` before the start it was scheduled for:
    sent once when due (``state`` pending → sent), skipped if the call is cancelled or its
    start has moved (the new start has rows of its own)."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("call_id", "offset_minutes", "start_time"),
        Index("ix_reminders_state_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("action_calls.id", ondelete="CASCADE"))
    offset_minutes: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
