"""Activities we received (inbox items, unique by id) and activities we published."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.models.states import InboxState
from storage.types import JSONDocument, UTCDateTime

RECEIVED = InboxState.RECEIVED
PROCESSED = InboxState.PROCESSED
FAILED = InboxState.FAILED


class InboxItem(Base):
    __tablename__ = "inbox_items"
    __table_args__ = (Index("ix_inbox_items_state_id", "state", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[str] = mapped_column(String(2048), unique=True)
    activity_type: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(2048))
    body: Mapped[Any] = mapped_column(JSONDocument)
    body_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When a failed item may be tried again (exponential backoff); None: due now.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxActivity(Base):
    __tablename__ = "outbox_activities"
    # ``public`` in the index: counting and paging an actor's public activities read it alone.
    __table_args__ = (Index("ix_outbox_activities_actor_public_id", "actor_id", "public", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("local_actors.id", ondelete="CASCADE"))
    activity_type: Mapped[str] = mapped_column(String(32))
    body: Mapped[Any] = mapped_column(JSONDocument)
    public: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
