"""Moderation: blocked domains and actors, abuse reports (flags), bans from a chapter's RSVPs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.models.states import Severity
from storage.types import JSONDocument, UTCDateTime

SUSPEND = Severity.SUSPEND
SILENCE = Severity.SILENCE


class DomainBlock(Base):
    __tablename__ = "domain_blocks"

    host: Mapped[str] = mapped_column(String(300), primary_key=True)
    severity: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ActorBlock(Base):
    __tablename__ = "actor_blocks"

    actor: Mapped[str] = mapped_column(String(2048), primary_key=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Flag(Base):
    """An abuse report, from a remote server's ``Flag`` or from one of our members."""

    __tablename__ = "flags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[str | None] = mapped_column(String(2048), unique=True)
    reporter: Mapped[str] = mapped_column(String(2048))
    targets: Mapped[Any] = mapped_column(JSONDocument)  # the actor and objects reported
    comment: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # remote, local
    state: Mapped[str] = mapped_column(String(16))  # open, resolved
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(2048))  # the admin's actor id
    resolution: Mapped[str | None] = mapped_column(Text)  # what was done, in the admin's words


class RsvpBan(Base):
    """An actor a chapter no longer admits to its action calls."""

    __tablename__ = "rsvp_bans"
    __table_args__ = (UniqueConstraint("chapter_id", "actor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chapter_id: Mapped[int] = mapped_column(ForeignKey("local_actors.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(2048))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
