"""Counting impact reports into campaigns' running totals, exactly and in O(1) per report.

A report counts once per campaign whatever path it came by (directly from its chapter, relayed
in an Announce, or named in another campaign's rollup): contributions are unique per
(campaign, report), and only a newer version of a report changes what it contributes.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from protocol.impact import ImpactReport, delta
from storage.models import Contribution, LocalActor
from storage.models.states import ActorKind
from storage.repositories import actions as action_repo
from storage.repositories import impact as impact_repo
from storage.repositories.impact import decode_values, encode_values

log = logging.getLogger(__name__)

MAX_CHAIN = 4  # chapter call → regional campaign call → global campaign call → ...


async def campaigns_for_call(session: AsyncSession, call_id: str) -> list[LocalActor]:
    """Our campaigns that a call belongs to, following ``chapterhouse:campaign`` links upwards."""
    found: list[LocalActor] = []
    seen: set[str] = set()
    current: str | None = call_id
    while current is not None and current not in seen and len(seen) < MAX_CHAIN:
        seen.add(current)
        row = await action_repo.call_by_ap_id(session, current)
        if row is None:
            break
        if row.local_actor_id is not None:
            owner = await session.get(LocalActor, row.local_actor_id)
            if owner is not None and owner.kind == ActorKind.CAMPAIGN:
                found.append(owner)
        link = row.document.get("chapterhouse:campaign") if isinstance(row.document, dict) else None
        current = link if isinstance(link, str) else None
    return found


async def count_report(
    session: AsyncSession,
    campaign: LocalActor,
    report: ImpactReport,
    sha256: str,
    via: str,
    now: datetime,
) -> bool:
    """Count (or re-count, for a newer version) one report; True when totals moved."""
    await impact_repo.lock_state(session, campaign.id)
    row = await impact_repo.contribution(session, campaign.id, report.id)
    new = report.values()
    if row is None:
        session.add(
            Contribution(
                campaign_id=campaign.id,
                report=report.id,
                chapter=report.chapter,
                call=report.call,
                values=encode_values(new),
                version=report.version,
                sha256=sha256,
                retracted=False,
                via=via,
                counted_at=now,
            )
        )
        await session.flush()
        await impact_repo.adjust_totals(session, campaign.id, report.chapter, new)
    else:
        if row.retracted or report.version <= row.version:
            return False  # a replay, a duplicate by another path, or an older version
        if row.chapter != report.chapter:
            return False
        change = delta(decode_values(row.values), new)
        await impact_repo.adjust_totals(session, campaign.id, report.chapter, change)
        row.values = encode_values(new)
        row.version = report.version
        row.sha256 = sha256
        row.counted_at = now
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
    old = decode_values(row.values)
    await impact_repo.adjust_totals(
        session, campaign.id, row.chapter, {k: -v for k, v in old.items()}
    )
    row.retracted = True
    row.counted_at = now
    await impact_repo.mark_dirty(session, campaign.id)
    return True
