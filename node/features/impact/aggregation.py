"""Counting impact reports into campaigns' running totals, exactly and in O(1) per report.

- A report counts once per campaign whatever path it came by (directly, relayed, or named in a
  member campaign's rollup): only a newer version changes what it contributes.
- One live report per (chapter, call): a second report on the same call replaces the first in
  the totals, never adds to it.
- Values are converted into the campaign's unit for each metric (``protocol.units``, decimal
  arithmetic); a measure whose unit does not convert is left out and listed (reason ``unit``).
- An excluded report (an organiser's exclusion, a blocked chapter) is kept, uncounted, so the
  rollup can list it and lifting the exclusion counts it again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from protocol.errors import ProtocolError
from protocol.events import parse_targets
from protocol.impact import ImpactReport, MetricKey, delta
from protocol.units import canonical_unit, convert, convertible
from storage.models import Contribution, LocalActor
from storage.repositories import actions as action_repo
from storage.repositories import exclusions as exclusion_repo
from storage.repositories import impact as impact_repo
from storage.repositories.impact import decode_values, encode_values

log = logging.getLogger(__name__)


async def campaign_target_units(session: AsyncSession, campaign: LocalActor) -> dict[str, str]:
    """The unit of each metric the campaign's own calls set a target for."""
    return await target_units_of(session, campaign.ap_id)


async def target_units_of(session: AsyncSession, campaign_ap_id: str) -> dict[str, str]:
    """``campaign_target_units`` by the campaign's IRI."""
    units: dict[str, str] = {}
    for call in await action_repo.calls_of_chapter(session, campaign_ap_id):
        raw = call.document.get("chapterhouse:targets") if isinstance(call.document, dict) else None
        try:
            targets = parse_targets(raw)
        except ProtocolError:  # a stored call we cannot read sets no unit
            continue
        for target in targets:
            units.setdefault(target.metric, canonical_unit(target.unit))
    return units


async def in_campaign_units(
    session: AsyncSession,
    campaign: LocalActor,
    units: dict[str, str],
    raw: dict[MetricKey, Decimal],
) -> tuple[dict[MetricKey, Decimal], list[list[str]]]:
    """``raw`` converted into the campaign's units, and the measures that do not convert.

    A metric new to the campaign takes its target's unit, or else this report's (recorded in
    ``units``, which the caller stores)."""
    converted: dict[MetricKey, Decimal] = {}
    left_out: list[list[str]] = []
    targets: dict[str, str] | None = None
    for (metric, unit), value in sorted(raw.items()):
        if metric not in units:
            if targets is None:
                targets = await campaign_target_units(session, campaign)
            units[metric] = targets.get(metric, canonical_unit(unit))
        wanted = units[metric]
        if not convertible(unit, wanted):
            left_out.append([metric, unit])
            continue
        key = (metric, wanted)
        converted[key] = converted.get(key, Decimal(0)) + convert(value, unit, wanted)
    return converted, left_out


def _counted(row: Contribution | None) -> dict[MetricKey, Decimal]:
    """What a contribution adds to the totals now."""
    if row is None or row.retracted or row.excluded is not None:
        return {}
    return decode_values(row.values)


async def count_report(
    session: AsyncSession,
    campaign: LocalActor,
    report: ImpactReport,
    sha256: str,
    via: str,
    now: datetime,
) -> bool:
    """Count (or re-count, for a newer version) one report; True when anything changed."""
    state = await impact_repo.lock_state(session, campaign.id)
    own = await impact_repo.contribution(session, campaign.id, report.id)
    if own is not None and (
        own.retracted or report.version <= own.version or own.chapter != report.chapter
    ):
        return False  # a replay, a duplicate by another path, an older version, a tombstone
    row = own or await impact_repo.live_contribution_for_call(
        session, campaign.id, report.chapter, report.call
    )
    if row is not None and row is not own and report.version <= row.version:
        log.info("report.superseded", extra={"report": report.id, "live": row.report})
        return False  # an older report on a call that has a newer live one
    units = dict(state.units or {})
    raw = report.values()
    converted, left_out = await in_campaign_units(session, campaign, units, raw)
    if units != (state.units or {}):
        state.units = units
    excluded = await exclusion_repo.reason_for(session, campaign.id, report.id, report.chapter)
    before = _counted(row)
    if row is None:
        row = Contribution(campaign_id=campaign.id, retracted=False)
        session.add(row)
    row.report, row.chapter, row.call = report.id, report.chapter, report.call
    row.values, row.raw_values = encode_values(converted), encode_values(raw)
    row.unit_excluded, row.excluded = left_out or None, excluded
    row.version, row.sha256, row.via, row.counted_at = report.version, sha256, via, now
    await session.flush()
    change = delta(before, _counted(row))
    if change:
        await impact_repo.adjust_totals(session, campaign.id, report.chapter, change)
    await impact_repo.mark_dirty(session, campaign.id)
    return True


async def retract_report(
    session: AsyncSession, campaign: LocalActor, report_id: str, chapter: str, now: datetime
) -> bool:
    """Take a report out of the totals for good (a tombstone stops a late copy counting)."""
    await impact_repo.lock_state(session, campaign.id)
    row = await impact_repo.contribution(session, campaign.id, report_id)
    if row is None:
        session.add(
            Contribution(
                campaign_id=campaign.id,
                report=report_id,
                chapter=chapter,
                call="",
                values={},
                version=now,
                sha256="0" * 64,
                retracted=True,
                via=chapter,
                counted_at=now,
            )
        )
        return False
    if row.retracted or row.chapter != chapter:
        return False
    old = _counted(row)
    if old:
        await impact_repo.adjust_totals(
            session, campaign.id, row.chapter, {k: -v for k, v in old.items()}
        )
    row.retracted = True
    row.counted_at = now
    await impact_repo.mark_dirty(session, campaign.id)
    return True


async def set_excluded(
    session: AsyncSession, campaign: LocalActor, rows: list[Contribution], reason: str | None
) -> int:
    """Exclude (``reason``) or count again (None) these contributions; returns how many moved."""
    moved = 0
    for row in rows:
        if reason is None:
            reason_left = await exclusion_repo.reason_for(
                session, campaign.id, row.report, row.chapter
            )
            if reason_left is not None:
                row.excluded = reason_left  # still excluded by another exclusion
                continue
        before = _counted(row)
        row.excluded = reason if reason is None or row.excluded is None else row.excluded
        change = delta(before, _counted(row))
        if change:
            await impact_repo.adjust_totals(session, campaign.id, row.chapter, change)
            moved += 1
    if moved:
        await impact_repo.mark_dirty(session, campaign.id)
    return moved
