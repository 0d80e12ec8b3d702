"""Follow-ups of inbound activities: work an activity causes beyond its own transaction
(fetching an unknown call, a rollup's sources, a relayed object), kept as durable rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.models.states import FollowUpState
from storage.types import JSONDocument, UTCDateTime

PENDING = FollowUpState.PENDING
DONE = FollowUpState.DONE
DEAD = FollowUpState.DEAD

#: Longest stored dedupe key; longer keys are stored as their SHA-256 (see the repository).
MAX_KEY_LENGTH = 1024


class FollowUp(Base):
    __tablename__ = "follow_ups"
    __table_args__ = (
        # The same work is recorded once, however many activities ask for it.
        UniqueConstraint("kind", "key"),
        Index("ix_follow_ups_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    payload: Mapped[Any] = mapped_column(JSONDocument)
    #: The host the work talks to, so per-host concurrency can be capped.
    host: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
