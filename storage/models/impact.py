"""Impact reports (ours and received) and a campaign's running totals.

Totals are adjusted per report (never recomputed from all reports); values are decimal text
so additions and subtractions stay exact on every database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.types import JSONDocument, UTCDateTime


class ImpactReport(Base):
    """The newest version we hold of a report (ours, or received)."""

    __tablename__ = "impact_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    chapter: Mapped[str] = mapped_column(String(2048), index=True)
    call: Mapped[str] = mapped_column(String(2048), index=True)
    local_actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("local_actors.id", ondelete="CASCADE")
    )
    document: Mapped[Any] = mapped_column(JSONDocument)
    version: Mapped[datetime] = mapped_column(UTCDateTime)
    retracted: Mapped[bool] = mapped_column(Boolean, default=False)
    sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Contribution(Base):
    """One report as counted by one of our campaigns (whichever path it came by)."""

    __tablename__ = "contributions"
    __table_args__ = (
        UniqueConstraint("campaign_id", "report"),
        Index("ix_contributions_campaign_counted", "campaign_id", "retracted"),
        Index("ix_contributions_campaign_chapter_call", "campaign_id", "chapter", "call"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("local_actors.id", ondelete="CASCADE"))
    report: Mapped[str] = mapped_column(String(2048))
    chapter: Mapped[str] = mapped_column(String(2048))
    call: Mapped[str] = mapped_column(String(2048))
    values: Mapped[Any] = mapped_column(JSONDocument)  # counted, in the campaign's units
    #: The report's own values, as received ({"metric|unit": "decimal"}): an exclusion lifted or
    #: a unit settled counts them again without the report.
    raw_values: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    #: Measures left out because their unit does not convert: [["metric", "unit"], ...].
    unit_excluded: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    #: Why the whole report is out of the totals (an organiser's exclusion, a block), or None.
    excluded: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[datetime] = mapped_column(UTCDateTime)
    sha256: Mapped[str] = mapped_column(String(64))
    retracted: Mapped[bool] = mapped_column(Boolean, default=False)
    via: Mapped[str] = mapped_column(String(2048))  # the chapter itself, or the rollup it came in
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CampaignTotal(Base):
    __tablename__ = "campaign_totals"
    __table_args__ = (UniqueConstraint("campaign_id", "chapter", "metric", "unit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("local_actors.id", ondelete="CASCADE"))
    chapter: Mapped[str] = mapped_column(String(2048))  # "" for the campaign-wide total
    metric: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(64))


class ChapterTotal(Base):
    """A chapter's running sum of one metric over its live reports: what its pages show, kept
    as reports arrive, change and are retracted (never a rescan of the reports)."""

    __tablename__ = "chapter_totals"
    __table_args__ = (UniqueConstraint("chapter", "metric", "unit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chapter: Mapped[str] = mapped_column(String(2048))
    metric: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(64))


class CampaignState(Base):
    """The campaign's published rollup, and whether totals moved since."""

    __tablename__ = "campaign_state"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("local_actors.id", ondelete="CASCADE"), primary_key=True
    )
    dirty: Mapped[bool] = mapped_column(Boolean, default=False)
    rollup_ap_id: Mapped[str | None] = mapped_column(String(2048))
    rollup_document: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    #: The published rollup's sources, ``[[report, chapter, sha256], ...]`` in its order: served
    #: in pages when the rollup links to them (``protocol/rollup_sources.py``).
    rollup_sources: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The unit each metric's totals are kept in: {"metric": "unit"}.
    units: Mapped[Any] = mapped_column(JSONDocument, nullable=True)


class TotalsSnapshot(Base):
    """Totals as published in each rollup: the campaign's history, for charts."""

    __tablename__ = "totals_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("local_actors.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    chapter_count: Mapped[int] = mapped_column(Integer)
    totals: Mapped[Any] = mapped_column(JSONDocument)


class CampaignExclusion(Base):
    """A report or a whole chapter a campaign leaves out of its totals, and why (published in
    the signed rollup, so the exclusion is visible, never silent)."""

    __tablename__ = "campaign_exclusions"
    __table_args__ = (UniqueConstraint("campaign_id", "target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("local_actors.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(2048))  # a report or a chapter IRI
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RollupVerification(Base):
    """The result of checking one version of a campaign's rollup against its sources.

    Computed once per version, in the background; visitors read the stored result, so an
    anonymous page view never makes the node fetch every source again.
    """

    __tablename__ = "rollup_verifications"
    __table_args__ = (UniqueConstraint("campaign_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("local_actors.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))  # pending, done
    result: Mapped[Any | None] = mapped_column(JSONDocument)  # the verdict's JSON when done
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
