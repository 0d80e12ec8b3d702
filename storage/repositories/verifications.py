"""Stored verifications of our campaigns' rollups: one row per (campaign, rollup version).

A visit asks for the current version (``request``: an idempotent insert of a pending row); the
background job stores the verdict (``store_result``); visitors read rows, never the network.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignore
from storage.models import RollupVerification

PENDING: Final = "pending"
DONE: Final = "done"


async def get(session: AsyncSession, campaign_id: int, version: str) -> RollupVerification | None:
    return await session.scalar(
        select(RollupVerification).where(
            RollupVerification.campaign_id == campaign_id,
            RollupVerification.version == version,
        )
    )


async def request(session: AsyncSession, campaign_id: int, version: str, now: datetime) -> bool:
    """A pending row for this version unless one exists (in any state); True if inserted."""
    stmt = insert_ignore(
        session,
        RollupVerification.__table__,  # type: ignore[arg-type]
        ["campaign_id", "version"],
    )
    result = await session.execute(
        stmt,
        [
            {
                "campaign_id": campaign_id,
                "version": version,
                "state": PENDING,
                "result": None,
                "requested_at": now,
                "computed_at": None,
            }
        ],
    )
    return bool(getattr(result, "rowcount", 0))


async def latest_done(session: AsyncSession, campaign_id: int) -> RollupVerification | None:
    """The most recently computed result, whichever version it was for."""
    return await session.scalar(
        select(RollupVerification)
        .where(RollupVerification.campaign_id == campaign_id, RollupVerification.state == DONE)
        .order_by(RollupVerification.computed_at.desc(), RollupVerification.id.desc())
        .limit(1)
    )


async def store_result(
    session: AsyncSession, campaign_id: int, version: str, result: Any, now: datetime
) -> None:
    """Record the verdict for this version (the row is created if the request was dropped)."""
    await request(session, campaign_id, version, now)
    await session.execute(
        update(RollupVerification)
        .where(
            RollupVerification.campaign_id == campaign_id,
            RollupVerification.version == version,
        )
        .values(state=DONE, result=result, computed_at=now)
        .execution_options(synchronize_session=False)
    )


async def discard_pending(session: AsyncSession, campaign_id: int, version: str) -> None:
    """Forget a request for a version that is no longer the campaign's rollup."""
    await session.execute(
        delete(RollupVerification).where(
            RollupVerification.campaign_id == campaign_id,
            RollupVerification.version == version,
            RollupVerification.state == PENDING,
        )
    )
