"""The rows a batch of reports reads and writes, loaded and saved set-based (SQLAlchemy Core).

``load`` reads, in a few ``SELECT ... IN`` statements, every row the batch's items may touch:
their report rows, their contributions to the campaigns they count in (by report, and the live
ones on their calls), the campaigns' exclusions and state rows (created if missing and locked
first, in campaign order, as ``impact_repo.lock_state`` does one at a time). ``write`` saves
what the batch changed: inserts and updates by primary key, each one ``executemany`` (the
updates compiled once and fed plain values on the loop's own SQLite connection:
``storage.repositories.batch_updates``), then the running sums. ORM copies of these rows the
caller's session may hold are expired, so the session never serves a stale one.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.features.impact.batch_lookup import chunks
from node.features.impact.chapter_sums import stored_values
from protocol.impact import MetricKey
from storage.dialect import insert_ignore
from storage.models import (
    CampaignExclusion,
    CampaignState,
    CampaignTotal,
    ChapterTotal,
    Contribution,
    ImpactReport,
)
from storage.repositories import chapter_totals as totals_repo
from storage.repositories.batch_updates import update_by_id
from storage.repositories.chapter_totals import KEYS_PER_SELECT, CampaignKey, ChapterKey, keys_match
from storage.repositories.impact import decode_values

_REPORTS: Table = ImpactReport.__table__  # type: ignore[assignment]
_CONTRIBUTIONS: Table = Contribution.__table__  # type: ignore[assignment]
_STATES: Table = CampaignState.__table__  # type: ignore[assignment]
#: Before any version (a new contribution's, until it takes its report's).
NO_VERSION = datetime.min.replace(tzinfo=UTC)
_CONTRIBUTION_FIELDS = (
    "report",
    "chapter",
    "call",
    "values",
    "raw_values",
    "unit_excluded",
    "excluded",
    "version",
    "sha256",
    "retracted",
    "via",
    "counted_at",
)


@dataclass(eq=False)
class HeldReport:
    row_id: int | None
    ap_id: str
    chapter: str
    call: str
    retracted: bool
    version: datetime
    document: Any  # as stored; None until replaced (the held one is not read: ``values``)
    sha256: str
    received_at: datetime | None = None
    values: dict[MetricKey, Decimal] | None = None  # what it adds to its chapter's sums
    changed: bool = False


@dataclass(eq=False)
class Counted:
    """One contribution row as the batch sees it (``storage.models.Contribution``)."""

    row_id: int | None
    order: tuple[int, int]  # rows held before the batch first, then the new, as ids will be
    campaign_id: int
    report: str = ""
    chapter: str = ""
    call: str = ""
    values: Any = None
    raw_values: Any = None
    unit_excluded: Any = None
    excluded: str | None = None
    version: datetime = NO_VERSION
    sha256: str = ""
    retracted: bool = False
    via: str = ""
    counted_at: datetime | None = None
    decoded: dict[MetricKey, Decimal] | None = None
    changed: bool = False

    def counted(self) -> dict[MetricKey, Decimal]:
        """What it adds to the totals now (``aggregation._counted``)."""
        if self.retracted or self.excluded is not None:
            return {}
        if self.decoded is None:
            self.decoded = decode_values(self.values)
        return self.decoded


@dataclass(eq=False)
class State:
    campaign_id: int
    units: dict[str, str] | None
    dirty: bool
    changed: bool = False


@dataclass
class Rows:
    reports: dict[str, HeldReport] = field(default_factory=dict)
    new_reports: list[HeldReport] = field(default_factory=list)
    by_report: dict[tuple[int, str], Counted] = field(default_factory=dict)
    by_call: dict[tuple[int, str, str], list[Counted]] = field(default_factory=dict)
    contributions: list[Counted] = field(default_factory=list)
    exclusions: dict[tuple[int, str], str] = field(default_factory=dict)
    states: dict[int, State] = field(default_factory=dict)
    campaign_changes: dict[CampaignKey, Decimal] = field(default_factory=dict)
    chapter_changes: dict[ChapterKey, Decimal] = field(default_factory=dict)

    def add_report(self, held: HeldReport) -> None:
        self.reports[held.ap_id] = held
        self.new_reports.append(held)

    def _index(self, row: Counted) -> None:
        self.by_report[(row.campaign_id, row.report)] = row
        same_call = self.by_call.setdefault((row.campaign_id, row.chapter, row.call), [])
        if row not in same_call:
            same_call.append(row)

    def new_contribution(self, campaign_id: int) -> Counted:
        row = Counted(row_id=None, order=(1, len(self.contributions)), campaign_id=campaign_id)
        self.contributions.append(row)
        return row

    def move(self, row: Counted, report: str, chapter: str, call: str) -> None:
        """Point ``row`` at another report (a newer report on the same call replaces the
        older one's contribution) and keep the indexes right."""
        if row.report and self.by_report.get((row.campaign_id, row.report)) is row:
            del self.by_report[(row.campaign_id, row.report)]
        row.report, row.chapter, row.call = report, chapter, call
        self._index(row)

    def live_for_call(self, campaign_id: int, chapter: str, call: str) -> Counted | None:
        """``impact_repo.live_contribution_for_call``: the newest live row on the call."""
        candidates = [
            r
            for r in self.by_call.get((campaign_id, chapter, call), [])
            if not r.retracted and r.chapter == chapter and r.call == call
        ]
        return max(candidates, key=lambda r: r.order) if candidates else None


async def _lock_states(session: AsyncSession, rows: Rows, campaigns: Collection[int]) -> None:
    for chunk in chunks(campaigns):
        await session.execute(
            insert_ignore(session, _STATES, ["campaign_id"]),
            [{"campaign_id": c, "dirty": False} for c in chunk],
        )
    locking = session.get_bind().dialect.name == "postgresql"
    for chunk in chunks(campaigns):
        stmt = (
            select(_STATES.c.campaign_id, _STATES.c.units, _STATES.c.dirty)
            .where(_STATES.c.campaign_id.in_(chunk))
            .order_by(_STATES.c.campaign_id)
        )
        if locking:
            stmt = stmt.with_for_update()
        for campaign_id, units, dirty in await session.execute(stmt):
            rows.states[campaign_id] = State(campaign_id, units, bool(dirty))


def _contribution(row: Any) -> Counted:
    data = row._mapping
    return Counted(
        row_id=data["id"],
        order=(0, data["id"]),
        campaign_id=data["campaign_id"],
        **{name: data[name] for name in _CONTRIBUTION_FIELDS},
    )


async def load(
    session: AsyncSession,
    *,
    reports: Collection[str],
    campaigns: Collection[int],
    live_keys: Collection[tuple[int, str, str, str]],
    chapters: Collection[str],
) -> Rows:
    """The rows of these reports, and the live contributions on the (campaign id, chapter,
    call) of each (campaign id, chapter, call, report) in ``live_keys`` whose report has no
    contribution in that campaign yet, in the campaigns (module doc). (A report counted
    already replaces its own row: the other live rows on its call are never looked at, so a
    batch of new versions reads none of them.)"""
    rows = Rows()
    for chunk in chunks(reports):
        result = await session.execute(
            select(
                _REPORTS.c.id,
                _REPORTS.c.ap_id,
                _REPORTS.c.chapter,
                _REPORTS.c.call,
                _REPORTS.c.retracted,
                _REPORTS.c.version,
                _REPORTS.c.sha256,
            ).where(_REPORTS.c.ap_id.in_(chunk))
        )
        for row_id, ap_id, chapter, call, retracted, version, sha in result:
            rows.reports[ap_id] = HeldReport(
                row_id, ap_id, chapter, call, bool(retracted), version, None, sha
            )
    if campaigns:
        await _load_contributions(session, rows, reports, campaigns, live_keys, chapters)
    await _held_values(session, rows)
    return rows


async def _held_values(session: AsyncSession, rows: Rows) -> None:
    """What each held report adds to its chapter's sums now (``chapter_sums.stored_values``
    of its document). A contribution pinned to the report's very version (its SHA-256) holds
    those values already (``raw_values``: the same document, parsed as it arrived), so the
    document is read and parsed only for the reports no contribution pins."""
    pinned = {
        (r.report, r.sha256): r.raw_values
        for r in rows.by_report.values()
        if r.raw_values is not None
    }
    unread: list[HeldReport] = []
    for held in rows.reports.values():
        if held.retracted:
            continue
        raw = pinned.get((held.ap_id, held.sha256))
        if raw is not None:
            held.values = decode_values(raw)
        else:
            unread.append(held)
    by_id = {held.row_id: held for held in unread}
    for chunk in chunks(by_id):
        result = await session.execute(
            select(_REPORTS.c.id, _REPORTS.c.document).where(_REPORTS.c.id.in_(chunk))
        )
        for row_id, document in result:
            by_id[row_id].values = stored_values(document)


async def _load_contributions(
    session: AsyncSession,
    rows: Rows,
    reports: Collection[str],
    campaigns: Collection[int],
    live_keys: Collection[tuple[int, str, str, str]],
    chapters: Collection[str],
) -> None:
    await _lock_states(session, rows, campaigns)
    campaign_list = sorted(campaigns)
    seen: dict[int, Counted] = {}
    c = _CONTRIBUTIONS.c
    for chunk in chunks(reports):  # by report: the unique (campaign_id, report) index
        stmt = select(_CONTRIBUTIONS).where(c.campaign_id.in_(campaign_list), c.report.in_(chunk))
        for found in await session.execute(stmt):
            seen.setdefault(found.id, _contribution(found))
    # Live on a call, for the reports not counted yet: one search of the (campaign_id,
    # chapter, call) index per key. (Asking for ``retracted = false`` here would have SQLite
    # search the (campaign_id, retracted) index instead, term after term: the whole campaign
    # each time.)
    counted = {(r.campaign_id, r.report) for r in seen.values()}
    calls = {
        (k, chapter, call) for k, chapter, call, report in live_keys if (k, report) not in counted
    }
    for chunk in chunks(calls, KEYS_PER_SELECT):
        stmt = select(_CONTRIBUTIONS).where(keys_match((c.campaign_id, c.chapter, c.call), chunk))
        for found in await session.execute(stmt):
            if not found.retracted:
                seen.setdefault(found.id, _contribution(found))
    for row in sorted(seen.values(), key=lambda r: r.order):
        rows._index(row)
    for chunk in chunks(set(reports) | set(chapters)):
        excluded = await session.execute(
            select(
                CampaignExclusion.campaign_id, CampaignExclusion.target, CampaignExclusion.reason
            ).where(
                CampaignExclusion.campaign_id.in_(campaign_list),
                CampaignExclusion.target.in_(chunk),
            )
        )
        for campaign_id, target, reason in excluded:
            rows.exclusions[(campaign_id, target)] = reason


def _contribution_params(row: Counted) -> dict[str, Any]:
    params = {name: getattr(row, name) for name in _CONTRIBUTION_FIELDS}
    params["campaign_id"] = row.campaign_id
    return params


async def write(session: AsyncSession, rows: Rows) -> None:
    """Save what the batch changed (module doc)."""
    if rows.new_reports:
        await session.execute(
            insert(_REPORTS),
            [
                {
                    "ap_id": r.ap_id,
                    "chapter": r.chapter,
                    "call": r.call,
                    "local_actor_id": None,
                    "document": r.document,
                    "version": r.version,
                    "retracted": False,
                    "sha256": r.sha256,
                    "received_at": r.received_at,
                }
                for r in rows.new_reports
            ],
        )
    await update_by_id(
        session,
        _REPORTS,
        ("document", "version", "sha256"),
        [
            (r.document, r.version, r.sha256, r.row_id)
            for r in rows.reports.values()
            if r.changed and r.row_id is not None
        ],
    )
    await _write_contributions(session, rows)
    await _write_states(session, rows)
    await totals_repo.adjust_campaigns(session, rows.campaign_changes)
    await totals_repo.adjust_chapters(session, rows.chapter_changes)
    _expire_orm_copies(session)


async def _write_contributions(session: AsyncSession, rows: Rows) -> None:
    new = [r for r in rows.contributions if r.row_id is None]
    if new:
        await session.execute(insert(_CONTRIBUTIONS), [_contribution_params(r) for r in new])
    fields = _CONTRIBUTION_FIELDS
    await update_by_id(
        session,
        _CONTRIBUTIONS,
        fields,
        [
            (*(getattr(r, name) for name in fields), r.row_id)
            for r in rows.by_report.values()
            if r.changed and r.row_id is not None
        ],
    )


async def _write_states(session: AsyncSession, rows: Rows) -> None:
    await update_by_id(
        session,
        _STATES,
        ("units", "dirty"),
        [(s.units, s.dirty, s.campaign_id) for s in rows.states.values() if s.changed or s.dirty],
        key="campaign_id",
    )


_ROW_CLASSES = (ImpactReport, Contribution, CampaignState, CampaignTotal, ChapterTotal)


def _expire_orm_copies(session: AsyncSession) -> None:
    """Rows written above may sit in the session's identity map from an earlier ORM read:
    expired, the next query that returns them loads them afresh."""
    for obj in list(session.sync_session.identity_map.values()):
        if isinstance(obj, _ROW_CLASSES):
            session.expire(obj)
