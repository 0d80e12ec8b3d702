"""Publishing a campaign's rollup: signed totals and the exact reports they sum.

At most once per ``rollup_interval_seconds`` while reports arrive: the first publication is a
``Create``, later ones ``Update`` the same object, each with a fresh proof.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from node.federation.outbox.audience import follower_inboxes
from node.federation.outbox.publish import publish
from node.federation.proofs import sign_object
from node.runtime.services import Services
from protocol.activities import build_create, build_update
from protocol.impact import (
    UNIT_REASON,
    Exclusion,
    Rollup,
    Source,
    Total,
    build_rollup,
)
from protocol.rollup_sources import SourcesLink, sources_digest
from protocol.wording import measure_text, plural
from storage.models import Contribution, LocalActor
from storage.repositories import actions as action_repo
from storage.repositories import impact as impact_repo

log = logging.getLogger(__name__)


def rollup_id(services: Services, campaign: LocalActor) -> str:
    return services.ids.actor_part(campaign.name, "rollup")


def sources_link(ident: str, sources: Sequence[Source]) -> SourcesLink:
    """Where a rollup with many sources lists them (``/actors/{name}/rollup/sources``)."""
    return SourcesLink(f"{ident}/sources", len(sources), sources_digest(sources))


def describe(totals: dict[tuple[str, str], Decimal], chapters: int) -> str:
    parts = [measure_text(v, unit, metric) for (metric, unit), v in sorted(totals.items())]
    return (
        f"Together, {plural(chapters, 'chapter')}: "
        + (", ".join(parts) if parts else "nothing reported yet")
        + "."
    )


def exclusions_of(live: list[Contribution]) -> tuple[Exclusion, ...]:
    """What the rollup leaves out, each pinned to the report version it saw: whole reports
    (excluded by an organiser or a block) and single measures in units that do not convert."""
    out: list[Exclusion] = []
    for c in live:
        if c.excluded is not None:
            out.append(Exclusion(c.report, c.chapter, c.sha256, c.excluded))
            continue
        for metric, unit in c.unit_excluded or ():
            out.append(Exclusion(c.report, c.chapter, c.sha256, UNIT_REASON, metric, unit))
    return tuple(out)


async def publish_rollup(services: Services, campaign_id: int) -> str | None:
    """Build, sign and send the campaign's current rollup; returns its id."""
    now = services.clock.now()
    async with services.db.write() as session:
        campaign = await session.get(LocalActor, campaign_id)
        if campaign is None:
            return None
        state = await impact_repo.lock_state(session, campaign_id)
        totals = {
            k: v for k, v in (await impact_repo.totals(session, campaign_id)).items() if v != 0
        }
        live = await impact_repo.live_contributions(session, campaign_id)
        counted = [c for c in live if c.excluded is None]
        chapters = len({c.chapter for c in counted})
        calls = [c.ap_id for c in await action_repo.calls_of_chapter(session, campaign.ap_id)]
        ident = rollup_id(services, campaign)
        sources = tuple(Source(c.report, c.chapter, c.sha256) for c in counted)
        paged = len(sources) > services.settings.rollup_inline_sources
        rollup = Rollup(
            id=ident,
            campaign=campaign.ap_id,
            rollup_of=tuple(calls),
            totals=tuple(Total(m, u, v) for (m, u), v in sorted(totals.items())),
            sources=() if paged else sources,
            chapter_count=chapters,
            updated=now,
            exclusions=exclusions_of(live),
            sources_link=sources_link(ident, sources) if paged else None,
        )
        cc = [services.ids.actor_part(campaign.name, "followers")]
        doc = sign_object(
            services, campaign, build_rollup(rollup, content=describe(totals, chapters), cc=cc)
        )
        build = build_create if state.rollup_ap_id is None else build_update
        await publish(
            session,
            services,
            campaign,
            build(services.activity_id(), campaign.ap_id, doc),
            await follower_inboxes(session, services, campaign),
        )
        state.rollup_ap_id = ident
        state.rollup_document = doc
        state.rollup_sources = [[s.report, s.chapter, s.sha256] for s in sources]
        state.published_at = now
        state.dirty = False
        await impact_repo.add_snapshot(session, campaign_id, now, chapters, totals)
    services.wakeups.deliveries.set()
    log.info("rollup.published", extra={"campaign": campaign_id, "sources": len(sources)})
    return ident


async def publish_due(services: Services) -> int:
    """Publish every campaign whose totals moved and whose last rollup is old enough."""
    interval = timedelta(seconds=services.settings.rollup_interval_seconds)
    now = services.clock.now()
    published = 0
    async with services.db.read() as session:
        due = []
        for campaign_id in await impact_repo.dirty_campaigns(session):
            state = await impact_repo.state(session, campaign_id)
            if rollup_due(None if state is None else state.published_at, now, interval):
                due.append(campaign_id)
    for campaign_id in due:
        if await publish_rollup(services, campaign_id):
            published += 1
    return published


def rollup_due(published_at: datetime | None, now: datetime, interval: timedelta) -> bool:
    """A campaign whose totals moved publishes again once its last rollup is ``interval`` old
    (pure: the planet simulation, bench/planet, applies the same rule)."""
    return published_at is None or now - published_at >= interval


def rollup_poll_seconds(interval_seconds: float) -> float:
    """How often the rollup loop looks for campaigns due: a quarter interval, 50 ms to 1 s."""
    return min(1.0, max(0.05, interval_seconds / 4))


async def run_rollups(services: Services) -> None:
    poll = rollup_poll_seconds(services.settings.rollup_interval_seconds)
    while True:
        try:
            await publish_due(services)
        except Exception:  # keep publishing later rather than stop for good
            log.exception("rollup.loop_failed")
        await asyncio.sleep(poll)
