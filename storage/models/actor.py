"""Local actors (with their keys), remote actors (cached documents), API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, false, true
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.types import JSONDocument, UTCDateTime


class LocalActor(Base):
    """A chapter, campaign, member or the instance actor hosted by this node."""

    __tablename__ = "local_actors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    actor_type: Mapped[str] = mapped_column(String(32))  # Group, Person, Application
    kind: Mapped[str] = mapped_column(String(32), index=True)  # chapter, campaign, member, instance
    title: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    manually_approves_followers: Mapped[bool] = mapped_column(Boolean, default=False)
    rsa_private_pem: Mapped[str] = mapped_column(Text)
    rsa_public_pem: Mapped[str] = mapped_column(Text)
    ed25519_private_pem: Mapped[str] = mapped_column(Text)
    ed25519_public_multibase: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    #: Copied into each session cookie; raising it signs every session of this actor out.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: A chapter's IANA time zone: its calls default to it, its forms ask for local times in it.
    timezone: Mapped[str | None] = mapped_column(String(64))
    #: A member's choice to list their public commitments on their profile page.
    show_commitments: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: A member's e-mail address, for notifications (None: in-app and nothing else).
    email: Mapped[str | None] = mapped_column(String(320))
    #: A member's choice to be reminded of the calls they committed to.
    reminders: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    #: A chapter's own reminder offsets (minutes before a call starts); None: the node's.
    reminder_offsets: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    #: A chapter's place (published as the Group's ``location``) and the area it serves.
    place_name: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    radius_km: Mapped[float | None] = mapped_column(Float)
    regions: Mapped[Any] = mapped_column(JSONDocument, nullable=True)  # list of names
    #: A chapter's languages (BCP 47 tags) and topics (hashtags without ``#``).
    languages: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    topics: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    #: A member's chosen language for pages and e-mail (None: the browser's, then the node's).
    language: Mapped[str | None] = mapped_column(String(35))
    #: Where a chapter moved (its new actor's id) and the actors an imported one was before.
    moved_to: Mapped[str | None] = mapped_column(String(2048))
    also_known_as: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Invitation(Base):
    """A sign-up link for a chapter (only its SHA-256 is stored)."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    chapter_id: Mapped[int] = mapped_column(ForeignKey("local_actors.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: None for links made before expiry existed (they count from ``created_at``).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token (only its SHA-256 is stored) granting a role to a local actor."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    actor_id: Mapped[int] = mapped_column(
        ForeignKey("local_actors.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))  # member, organiser, admin
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RemoteActor(Base):
    """A cached remote actor document and the parts we use often."""

    __tablename__ = "remote_actors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    actor_type: Mapped[str] = mapped_column(String(32))
    preferred_username: Mapped[str | None] = mapped_column(String(256))
    host: Mapped[str] = mapped_column(String(300), index=True)
    inbox: Mapped[str] = mapped_column(String(2048))
    shared_inbox: Mapped[str | None] = mapped_column(String(2048))
    public_key_id: Mapped[str | None] = mapped_column(String(2048), index=True)
    public_key_pem: Mapped[str | None] = mapped_column(Text)
    document: Mapped[Any] = mapped_column(JSONDocument)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    gone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SupersededKey(Base):
    """A key id an actor ``Update`` replaced: refused by every process, which learns of it
    through this table rather than through memory another process cannot see."""

    __tablename__ = "superseded_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(2048), unique=True)
    actor: Mapped[str] = mapped_column(String(2048))
    superseded_at: Mapped[datetime] = mapped_column(UTCDateTime)
