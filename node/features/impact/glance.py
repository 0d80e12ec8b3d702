"""A campaign at a glance, for its embeddable widget and badge: totals, chapters, next calls.

Other sites embed these on every page view, so they read only what is kept up to date as
reports arrive: the campaign's running sums (``campaign_totals``, one row per chapter and
metric) and its stored call documents, never the reports themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from node.features.actors.authz import NotFoundError
from node.runtime.services import Services
from protocol.errors import N_
from storage.models import LocalActor
from storage.models.states import ActorKind
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo
from storage.repositories import impact as impact_repo

#: Upcoming calls the widget lists; past calls read for their targets (as the page does).
NEXT_CALLS = 3
PAST_CALLS = 50


@dataclass(frozen=True, slots=True)
class Glance:
    campaign: LocalActor
    #: Campaign-wide totals, (metric, unit, amount), without the ones that came to nothing.
    totals: list[tuple[str, str, Decimal]]
    #: Chapters whose counted reports add up to something (the page's "Per chapter" rows).
    chapter_count: int
    #: (call id, stored JSON text): the next calls, soonest first.
    upcoming: list[tuple[str, str]]
    #: (call id, stored JSON text): the latest past calls (their targets still count).
    past: list[tuple[str, str]]


async def campaign_glance(services: Services, name: str, now: datetime) -> Glance:
    """The glance at local campaign ``name``; ``NotFoundError`` for anything else."""
    async with services.db.read() as session:
        campaign = await actor_repo.local_actor_by_name(session, name)
        if campaign is None or campaign.kind != ActorKind.CAMPAIGN:
            raise NotFoundError(N_("no campaign named {name!r} on this node"), name=name)
        totals = await impact_repo.totals(session, campaign.id)
        by_chapter = await impact_repo.totals_by_chapter(session, campaign.id)
        upcoming = await action_repo.upcoming_call_documents(
            session, campaign.ap_id, now, limit=PAST_CALLS
        )
        past = await action_repo.past_call_documents(session, campaign.ap_id, now, limit=PAST_CALLS)
    return Glance(
        campaign=campaign,
        totals=[(m, u, v) for (m, u), v in sorted(totals.items()) if v != 0],
        chapter_count=sum(1 for values in by_chapter.values() if any(values.values())),
        upcoming=upcoming,
        past=past,
    )
