"""Counting many received reports in one transaction, as if each had been counted in turn.

``apply_reports`` gives every item the outcome ``intake.apply_report`` gave it one at a time,
in order, and leaves the same rows behind; it reads what the whole batch needs with one
``SELECT ... IN`` per kind of row (calls and their campaign links, campaigns, follows, report
rows, contributions, exclusions, campaign states), works the items through in memory in order
(so duplicates, an older and a newer version, or a second report on one call meet exactly as
they would have), then writes: new rows with one ``executemany`` each, changed rows by primary
key, and the campaign and chapter running sums adjusted once per key with the batch's summed
deltas (``storage/repositories/chapter_totals.py``). A report costs O(metrics), whatever the
number of reports held.

No network I/O happens here: a report on a call we do not hold is ``unknown_call``, and the
caller records the follow-up that fetches the call.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.calls.input import sanitized
from node.features.impact import batch_lookup, batch_rows
from node.features.impact.aggregation import target_units_of
from node.features.impact.batch_rows import Counted, HeldReport, Rows
from node.features.impact.chapter_sums import add_change, stored_values
from node.runtime.services import Services
from protocol.impact import ImpactReport, delta
from protocol.proof_digest import JcsCache, jcs_digest
from protocol.units import canonical_unit, convert, convertible
from storage.engine import Database
from storage.inline import InlineBusy
from storage.repositories.impact import CAMPAIGN_WIDE, encode_values

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReportItem:
    """One received report to count: the parsed report, the document as received, who brought
    it (``via``: its chapter, a relay, a rollup), the campaign whose rollup named it, and its
    ``jcs_sha256`` when the caller has it already (a proof check computes it)."""

    report: ImpactReport
    doc: Mapping[str, Any]
    via: str
    via_campaign: str | None = None
    sha256: str | None = None


class _Batch:
    """The in-memory state of one batch while its items are worked through in order."""

    def __init__(self, session: AsyncSession, rows: Rows, now: Any) -> None:
        self.session = session
        self.rows = rows
        self.now = now
        self.targets: dict[int, dict[str, str]] = {}

    async def _units(
        self, campaign: batch_lookup.Campaign, units: dict[str, str], raw: dict[Any, Decimal]
    ) -> tuple[dict[Any, Decimal], list[list[str]]]:
        """``aggregation.in_campaign_units``, with the campaign's target units read once."""
        converted: dict[Any, Decimal] = {}
        left_out: list[list[str]] = []
        for (metric, unit), value in sorted(raw.items()):
            if metric not in units:
                targets = self.targets.get(campaign.id)
                if targets is None:
                    targets = self.targets[campaign.id] = await target_units_of(
                        self.session, campaign.ap_id
                    )
                units[metric] = targets.get(metric, canonical_unit(unit))
            wanted = units[metric]
            if not convertible(unit, wanted):
                left_out.append([metric, unit])
                continue
            key = (metric, wanted)
            converted[key] = converted.get(key, Decimal(0)) + convert(value, unit, wanted)
        return converted, left_out

    async def count(
        self, campaign: batch_lookup.Campaign, report: ImpactReport, sha: str, via: str
    ) -> bool:
        """``aggregation.count_report`` on the batch's rows; True when anything changed."""
        rows = self.rows
        state = rows.states[campaign.id]
        own = rows.by_report.get((campaign.id, report.id))
        if own is not None and (
            own.retracted or report.version <= own.version or own.chapter != report.chapter
        ):
            return False
        row = own or rows.live_for_call(campaign.id, report.chapter, report.call)
        if row is not None and row is not own and report.version <= row.version:
            log.info("report.superseded", extra={"report": report.id, "live": row.report})
            return False
        units = dict(state.units or {})
        raw = report.values()
        converted, left_out = await self._units(campaign, units, raw)
        if units != (state.units or {}):
            state.units = units
            state.changed = True
        excluded = rows.exclusions.get((campaign.id, report.id)) or rows.exclusions.get(
            (campaign.id, report.chapter)
        )
        before = row.counted() if row is not None else {}
        if row is None:
            row = rows.new_contribution(campaign.id)
        rows.move(row, report.id, report.chapter, report.call)
        row.values, row.raw_values = encode_values(converted), encode_values(raw)
        row.decoded = converted
        row.unit_excluded, row.excluded = left_out or None, excluded
        row.version, row.sha256, row.via, row.counted_at = report.version, sha, via, self.now
        row.changed = True
        for (metric, unit), amount in delta(before, row.counted()).items():
            for scope in (CAMPAIGN_WIDE, report.chapter):
                key = (campaign.id, scope, metric, unit)
                rows.campaign_changes[key] = rows.campaign_changes.get(key, Decimal(0)) + amount
        state.dirty = True
        return True


@asynccontextmanager
async def write_session(db: Database) -> AsyncIterator[AsyncSession]:
    """A write transaction for ``apply_reports``: on an SQLite file, in the event loop's own
    thread (``storage.inline_session``), where a batch's few dozen statements cost no driver
    hand-off each; the ordinary async session when the write lock is held elsewhere, or off
    SQLite. The loop is busy for the whole transaction: callers keep batches small where
    latency matters (a follow-up counts one report; the benchmark's batches take tens of ms).
    The write-ahead log is checkpointed afterwards (PASSIVE, on the driver's thread), since
    the inline connection never does it itself."""
    inline = db.inline
    async with AsyncExitStack() as stack:
        session: AsyncSession | None = None
        if inline is not None:
            try:
                session = await stack.enter_async_context(inline.write())
            except InlineBusy:
                session = None
        used_inline = session is not None
        if session is None:
            session = await stack.enter_async_context(db.write())
        yield session
    if used_inline:
        await db.checkpoint()


async def apply_reports(
    session: AsyncSession, services: Services, items: Sequence[ReportItem]
) -> list[str]:
    """Store and count ``items`` in the caller's transaction; one outcome per item, in order:
    ``unknown_call``, ``not_started``, ``foreign_call``, ``not_a_member``, ``not_owner``,
    ``retracted``, ``counted`` or ``unchanged`` (module doc; ``intake.apply_report``)."""
    if not items:
        return []
    await session.flush()  # the caller's pending ORM changes are visible to the reads below
    now = services.clock.now()
    lookup = await batch_lookup.load(
        session, [(i.report.chapter, i.report.call, i.via_campaign) for i in items]
    )
    campaigns_of: list[list[batch_lookup.Campaign]] = [
        lookup.counting(i.report.chapter, i.report.call, i.via_campaign) for i in items
    ]
    await batch_lookup.load_followed_here(
        session,
        lookup,
        {i.report.chapter for i, c in zip(items, campaigns_of, strict=True) if not c},
    )
    rows = await batch_rows.load(
        session,
        reports={i.report.id for i in items},
        campaigns={c.id for found in campaigns_of for c in found},
        live_keys={
            (c.id, i.report.chapter, i.report.call, i.report.id)
            for i, found in zip(items, campaigns_of, strict=True)
            for c in found
        },
        chapters={i.report.chapter for i in items},
    )
    batch = _Batch(session, rows, now)
    cache: JcsCache = {}
    outcomes: list[str] = []
    for item, campaigns in zip(items, campaigns_of, strict=True):
        outcome = _admit(item, campaigns, lookup, now)
        if outcome is None:
            outcome = await _store_and_count(batch, item, campaigns, cache)
        outcomes.append(outcome)
    await batch_rows.write(session, rows)
    return outcomes


def _admit(
    item: ReportItem,
    campaigns: list[batch_lookup.Campaign],
    lookup: batch_lookup.Lookup,
    now: Any,
) -> str | None:
    """The outcome of an item refused before its row is looked at, else None."""
    report = item.report
    call = lookup.calls.get(report.call)
    if call is None:
        return "unknown_call"
    if call.start_time > now:
        log.info("report.before_start", extra={"report": report.id, "call": report.call})
        return "not_started"  # impact is reported once the call has started
    if call.chapter != report.chapter:
        log.warning("report.foreign_call", extra={"report": report.id, "call": report.call})
        return "foreign_call"
    if not campaigns and report.chapter not in lookup.followed_here:
        # Not a member of any campaign here, and nobody here follows the chapter: not kept.
        log.info("report.not_a_member", extra={"report": report.id, "chapter": report.chapter})
        return "not_a_member"
    return None


async def _store_and_count(
    batch: _Batch, item: ReportItem, campaigns: list[batch_lookup.Campaign], cache: JcsCache
) -> str:
    report, rows = item.report, batch.rows
    sha = item.sha256 or jcs_digest(item.doc, cache)
    held = rows.reports.get(report.id)
    if held is not None and held.chapter != report.chapter:
        return "not_owner"
    if held is not None and held.retracted:
        return "retracted"
    new_values = report.values()
    if held is None:
        held = HeldReport(
            row_id=None,
            ap_id=report.id,
            chapter=report.chapter,
            call=report.call,
            retracted=False,
            version=report.version,
            document=sanitized(item.doc),
            sha256=sha,
            received_at=batch.now,
            values=new_values,
            changed=True,
        )
        rows.add_report(held)
        add_change(rows.chapter_changes, report.chapter, {}, new_values)
    elif report.version > held.version:
        old = held.values if held.values is not None else stored_values(held.document)
        add_change(rows.chapter_changes, held.chapter, old, new_values)
        held.document, held.version, held.sha256 = sanitized(item.doc), report.version, sha
        held.values, held.changed = new_values, True
    moved = False
    for campaign in campaigns:
        moved |= await batch.count(campaign, report, sha, item.via)
    return "counted" if moved else "unchanged"


__all__ = ["Counted", "ReportItem", "apply_reports", "write_session"]
