"""The rows a batch of reports reads and writes, loaded and saved set-based (SQLAlchemy Core).

``load`` reads, in a few ``SELECT ... IN`` statements, every row the batch's items may touch:
their report rows, their contributions to the campaigns they count in (by report, and the live
ones on their calls), the campaigns' exclusions and state rows (created if missing and locked
first, in campaign order, as ``impact_repo.lock_state`` does one at a time). ``write`` saves
what the batch changed: inserts and updates by primary key, each one ``executemany``, then the
running sums. Every statement is built once per shape and, on the loop's own SQLite connection,
compiled once and run by plain sqlite3 (``storage.repositories.batch_updates``): a one-report
batch costs its index searches, not SQLAlchemy's statement work. A contribution that still
holds the same report is updated without its indexed columns (``_write_contributions``). ORM
copies of these rows the caller's session may hold are expired, so the session never serves a
stale one.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Executable, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.features.impact.batch_lookup import chunks
from node.features.impact.chapter_sums import stored_values
from protocol.impact import MetricKey
from storage.models import (
    CampaignExclusion,
    CampaignState,
    CampaignTotal,
    ChapterTotal,
    Contribution,
    ImpactReport,
)
from storage.repositories import chapter_totals as totals_repo
from storage.repositories.batch_updates import (
    execute_many,
    in_list,
    insert_ignore_for,
    listed,
    rows_of,
    sized,
    update_by_id,
    values_of,
)
from storage.repositories.chapter_totals import (
    KEYS_PER_SELECT,
    CampaignKey,
    ChapterKey,
    key_params,
    keys_text,
)
from storage.repositories.impact import decode_values

_REPORTS: Table = ImpactReport.__table__  # type: ignore[assignment]
_CONTRIBUTIONS: Table = Contribution.__table__  # type: ignore[assignment]
_STATES: Table = CampaignState.__table__  # type: ignore[assignment]
#: Before any version (a new contribution's, until it takes its report's).
NO_VERSION = datetime.min.replace(tzinfo=UTC)
#: What a new version of the same report changes in its contribution row.
_VALUE_FIELDS = (
    "values",
    "raw_values",
    "unit_excluded",
    "excluded",
    "version",
    "sha256",
    "via",
    "counted_at",
)
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
    moved: bool = False  # now another report's (``Rows.move``): its key columns are written

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
        if (row.report, row.chapter, row.call) != (report, chapter, call):
            row.moved = True
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


_REPORT_INSERT = (
    "ap_id",
    "chapter",
    "call",
    "local_actor_id",
    "document",
    "version",
    "retracted",
    "sha256",
    "received_at",
)
_CONTRIBUTION_COLUMNS = tuple(_CONTRIBUTIONS.c.keys())


def _reports_stmt(dialect: str, size: int) -> Executable:
    r = _REPORTS.c
    return select(r.id, r.ap_id, r.chapter, r.call, r.retracted, r.version, r.sha256).where(
        in_list(r.ap_id, "r", size)
    )


def _documents_stmt(dialect: str, size: int) -> Executable:
    return select(_REPORTS.c.id, _REPORTS.c.document).where(in_list(_REPORTS.c.id, "i", size))


def _states_insert(dialect: str) -> Executable:
    return insert_ignore_for(dialect, _STATES, ["campaign_id"]).values(
        values_of(_STATES, ("campaign_id", "dirty"))
    )


def _states_stmt(dialect: str, size: int) -> Executable:
    stmt = (
        select(_STATES.c.campaign_id, _STATES.c.units, _STATES.c.dirty)
        .where(in_list(_STATES.c.campaign_id, "c", size))
        .order_by(_STATES.c.campaign_id)
    )
    return stmt.with_for_update() if dialect == "postgresql" else stmt


def _by_report_stmt(dialect: str, campaigns: int, reports: int) -> Executable:
    c = _CONTRIBUTIONS.c
    return select(_CONTRIBUTIONS).where(
        in_list(c.campaign_id, "c", campaigns), in_list(c.report, "r", reports)
    )


def _live_stmt(dialect: str, size: int) -> Executable:
    """The contributions on ``size`` (campaign id, chapter, call) keys (``keys_text``)."""
    c = _CONTRIBUTIONS.c
    return select(_CONTRIBUTIONS).where(keys_text((c.campaign_id, c.chapter, c.call), size, "k"))


def _exclusions_stmt(dialect: str, campaigns: int, targets: int) -> Executable:
    e = CampaignExclusion
    return select(e.campaign_id, e.target, e.reason).where(
        in_list(e.campaign_id, "c", campaigns), in_list(e.target, "t", targets)
    )


def _reports_insert(dialect: str) -> Executable:
    return insert(_REPORTS).values(values_of(_REPORTS, _REPORT_INSERT))


def _contributions_insert(dialect: str) -> Executable:
    return insert(_CONTRIBUTIONS).values(
        values_of(_CONTRIBUTIONS, ("campaign_id", *_CONTRIBUTION_FIELDS))
    )


async def _read_states(session: AsyncSession, rows: Rows, campaigns: list[int]) -> None:
    for chunk in chunks(campaigns):
        size = sized(len(chunk))
        for campaign_id, units, dirty in await rows_of(
            session, _states_stmt, (size,), listed("c", chunk, size)
        ):
            rows.states[campaign_id] = State(campaign_id, units, bool(dirty))


async def _lock_states(session: AsyncSession, rows: Rows, campaigns: Collection[int]) -> None:
    """Each campaign's state row, created if missing; on PostgreSQL every one is inserted
    (``ON CONFLICT DO NOTHING``) and then read locked, in campaign order. SQLite's writer is
    alone: the rows are read first and only the missing ones inserted (then read)."""
    missing = sorted(campaigns)
    if session.get_bind().dialect.name != "postgresql":
        await _read_states(session, rows, missing)
        missing = [c for c in missing if c not in rows.states]
    if missing:
        params = [{"v_campaign_id": c, "v_dirty": False} for c in missing]
        await execute_many(session, _states_insert, (), params)
        await _read_states(session, rows, missing)


def _contribution(row: tuple[Any, ...]) -> Counted:
    data = dict(zip(_CONTRIBUTION_COLUMNS, row, strict=True))
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
        size = sized(len(chunk))
        found = await rows_of(session, _reports_stmt, (size,), listed("r", chunk, size))
        for row_id, ap_id, chapter, call, retracted, version, sha in found:
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
        size = sized(len(chunk))
        found = await rows_of(session, _documents_stmt, (size,), listed("i", chunk, size))
        for row_id, document in found:
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
    by_campaign = listed("c", campaign_list, sized(len(campaign_list)))
    seen: dict[int, Counted] = {}
    for chunk in chunks(reports):  # by report: the unique (campaign_id, report) index
        shape = (sized(len(campaign_list)), sized(len(chunk)))
        params = by_campaign | listed("r", chunk, shape[1])
        for found in await rows_of(session, _by_report_stmt, shape, params):
            counted = _contribution(found)
            seen.setdefault(counted.row_id or 0, counted)
    # Live on a call, for the reports not counted yet: one search of the (campaign_id,
    # chapter, call) index per key. (Asking for ``retracted = false`` here would have SQLite
    # search the (campaign_id, retracted) index instead, term after term: the whole campaign
    # each time.)
    counted_keys = {(r.campaign_id, r.report) for r in seen.values()}
    calls = {
        (k, chapter, call)
        for k, chapter, call, report in live_keys
        if (k, report) not in counted_keys
    }
    for chunk in chunks(calls, KEYS_PER_SELECT):
        size = sized(len(chunk))
        params = key_params(chunk, size, "k")
        for found in await rows_of(session, _live_stmt, (size,), params):
            live = _contribution(found)
            if not live.retracted:
                seen.setdefault(live.row_id or 0, live)
    for row in sorted(seen.values(), key=lambda r: r.order):
        rows._index(row)
    for chunk in chunks(set(reports) | set(chapters)):
        shape = (sized(len(campaign_list)), sized(len(chunk)))
        params = by_campaign | listed("t", chunk, shape[1])
        for campaign_id, target, reason in await rows_of(session, _exclusions_stmt, shape, params):
            rows.exclusions[(campaign_id, target)] = reason


def _contribution_params(row: Counted) -> dict[str, Any]:
    params = {f"v_{name}": getattr(row, name) for name in _CONTRIBUTION_FIELDS}
    params["v_campaign_id"] = row.campaign_id
    return params


async def write(session: AsyncSession, rows: Rows) -> None:
    """Save what the batch changed (module doc)."""
    if rows.new_reports:
        await execute_many(
            session,
            _reports_insert,
            (),
            [
                {
                    "v_ap_id": r.ap_id,
                    "v_chapter": r.chapter,
                    "v_call": r.call,
                    "v_local_actor_id": None,
                    "v_document": r.document,
                    "v_version": r.version,
                    "v_retracted": False,
                    "v_sha256": r.sha256,
                    "v_received_at": r.received_at,
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
        await execute_many(
            session, _contributions_insert, (), [_contribution_params(r) for r in new]
        )
    # A row that still holds the same report is written without its key columns (report,
    # chapter, call; ``retracted`` never changes here): SQLite rewrites the entries of every
    # index on a column an UPDATE sets, changed or not, and these are in all three indexes
    # (a dirtied index page per row, written to the log: most of an update's cost once the
    # tables no longer fit in the page cache).
    changed = [r for r in rows.by_report.values() if r.changed and r.row_id is not None]
    for fields, group in (
        (_CONTRIBUTION_FIELDS, [r for r in changed if r.moved]),
        (_VALUE_FIELDS, [r for r in changed if not r.moved]),
    ):
        await update_by_id(
            session,
            _CONTRIBUTIONS,
            fields,
            [(*(getattr(r, name) for name in fields), r.row_id) for r in group],
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
