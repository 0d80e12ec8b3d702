"""What a campaign has achieved: current totals, per chapter, and over time."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from node.features.actors.authz import NotFoundError, local_chapter
from node.runtime.services import Services
from protocol.errors import N_
from protocol.impact import json_number
from protocol.timefmt import format_xsd_datetime
from storage.models.states import ActorKind
from storage.repositories import impact as impact_repo
from storage.repositories.impact import decode_values


def _totals_json(values: dict[tuple[str, str], Decimal]) -> list[dict[str, object]]:
    """Totals as listed everywhere; a metric no counted report carries any more is left out."""
    return [
        {"metric": m, "unit": u, "value": json_number(v)}
        for (m, u), v in sorted(values.items())
        if v != 0
    ]


@dataclass(frozen=True, slots=True)
class CampaignTotals:
    campaign: str
    rollup: str | None
    chapter_count: int
    totals: list[dict[str, object]]
    chapters: dict[str, list[dict[str, object]]]
    history: list[dict[str, Any]]

    def summary(self) -> dict[str, object]:
        """The pinned shape of ``chapterhouse totals CAMPAIGN --json``."""
        return {
            "campaign": self.campaign,
            "rollup": self.rollup,
            "chapterCount": self.chapter_count,
            "totals": self.totals,
        }


async def campaign_totals(services: Services, name: str) -> CampaignTotals:
    async with services.db.read() as session:
        campaign = await local_chapter(session, name)
        if campaign.kind != ActorKind.CAMPAIGN:
            raise NotFoundError(N_("{name} is a chapter, not a campaign"), name=name)
        totals = await impact_repo.totals(session, campaign.id)
        by_chapter = await impact_repo.totals_by_chapter(session, campaign.id)
        count = await impact_repo.chapter_count(session, campaign.id)
        state = await impact_repo.state(session, campaign.id)
        snapshots = await impact_repo.snapshots(session, campaign.id)
    return CampaignTotals(
        campaign=campaign.ap_id,
        rollup=state.rollup_ap_id if state is not None else None,
        chapter_count=count,
        totals=_totals_json(totals),
        chapters={c: _totals_json(v) for c, v in sorted(by_chapter.items()) if any(v.values())},
        history=[
            {
                "at": format_xsd_datetime(s.at),
                "chapterCount": s.chapter_count,
                "totals": _totals_json(decode_values(s.totals)),
            }
            for s in snapshots
        ],
    )
