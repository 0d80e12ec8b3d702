"""What campaigns leave out of their totals: reports or whole chapters, each with a reason."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignore
from storage.models import CampaignExclusion


async def add(
    session: AsyncSession, campaign_id: int, target: str, reason: str, now: datetime
) -> bool:
    """Record an exclusion; False when ``target`` was already excluded (its reason stays)."""
    result = await session.execute(
        insert_ignore(session, CampaignExclusion.__table__, ["campaign_id", "target"]).values(  # type: ignore[arg-type]
            campaign_id=campaign_id, target=target, reason=reason, created_at=now
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def remove(session: AsyncSession, campaign_id: int, target: str) -> bool:
    result = await session.execute(
        delete(CampaignExclusion).where(
            CampaignExclusion.campaign_id == campaign_id, CampaignExclusion.target == target
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def reason_for(
    session: AsyncSession, campaign_id: int, report: str, chapter: str
) -> str | None:
    """Why a report is excluded (its own exclusion first, then its chapter's), or None."""
    rows = {
        row.target: row.reason
        for row in await session.scalars(
            select(CampaignExclusion).where(
                CampaignExclusion.campaign_id == campaign_id,
                CampaignExclusion.target.in_([report, chapter]),
            )
        )
    }
    return rows.get(report) or rows.get(chapter)


async def of_campaign(session: AsyncSession, campaign_id: int) -> list[CampaignExclusion]:
    stmt = select(CampaignExclusion).where(CampaignExclusion.campaign_id == campaign_id)
    return list(await session.scalars(stmt.order_by(CampaignExclusion.id)))
