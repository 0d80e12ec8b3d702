"""Follow relationships, seen from either side (our member following out, or a remote
follower of our chapter): one row per (follower, target)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.models.states import FollowState
from storage.types import UTCDateTime

PENDING = FollowState.PENDING
ACCEPTED = FollowState.ACCEPTED
REJECTED = FollowState.REJECTED


class Follow(Base):
    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("follower", "target"),
        Index("ix_follows_target_state", "target", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[str] = mapped_column(String(2048), unique=True)
    follower: Mapped[str] = mapped_column(String(2048))
    target: Mapped[str] = mapped_column(String(2048))
    # Where to deliver to the follower (their shared inbox when offered); null for local followers.
    follower_inbox: Mapped[str | None] = mapped_column(String(2048))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
