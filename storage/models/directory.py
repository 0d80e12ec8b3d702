"""The directory index: the nodes this node reads directories from, and the chapters and
campaigns it learned of (its own included), searchable by place and by text.

``directory_entries.search_text`` is what the text index covers (names, title, summary, place,
topics, languages): an FTS5 table kept in sync by triggers on SQLite, a GIN index over
``to_tsvector('simple', search_text)`` on PostgreSQL (migration 0016).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.types import JSONDocument, UTCDateTime


class DirectoryNode(Base):
    """A node whose ``/directory`` we read, with how we learned of it and when to read it next.

    A durable row per origin: the refresh worker claims due rows under a lease
    (``locked_until``), so two workers never fetch the same node at once, and ``next_fetch_at``
    is never sooner than an hour after the last fetch.
    """

    __tablename__ = "directory_nodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin: Mapped[str] = mapped_column(String(300), unique=True)  # scheme://host[:port]
    learned: Mapped[str] = mapped_column(String(16))  # seed, follow, campaign, peer
    state: Mapped[str] = mapped_column(String(16), default="new")  # new, ok, failing, none
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    next_fetch_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DirectoryEntry(Base):
    """A chapter or campaign in the index (``local``: one of ours, copied from local_actors)."""

    __tablename__ = "directory_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[str] = mapped_column(String(2048), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # chapter, campaign
    name: Mapped[str | None] = mapped_column(String(256))  # preferredUsername
    title: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2048))  # its HTML page
    place_name: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    radius_km: Mapped[float | None] = mapped_column(Float)
    topics: Mapped[Any] = mapped_column(JSONDocument, nullable=True)  # list, without '#'
    languages: Mapped[Any] = mapped_column(JSONDocument, nullable=True)  # BCP 47 tags
    followers: Mapped[int | None] = mapped_column(Integer)
    origin: Mapped[str] = mapped_column(String(300), index=True)
    local: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: ``|climate|rivers|`` and ``|fr|en-gb|``: what the topic and language filters match
    #: (folded), one LIKE on either database rather than a JSON query each dialect spells apart.
    topic_keys: Mapped[str] = mapped_column(Text, default="|", server_default="|")
    language_keys: Mapped[str] = mapped_column(Text, default="|", server_default="|")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
