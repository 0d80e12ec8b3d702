"""Campaign totals and the rollup's dirty flag stay exact when transactions overlap.

On PostgreSQL, several worker processes count reports and publish rollups at once under READ
COMMITTED; on SQLite the writer is exclusive. Both must give the same answers.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from storage.models import CampaignState
from storage.repositories import impact as impact_repo
from tests.storage.builders import local_actor


async def _campaign(db) -> int:
    async with db.write() as session:
        actor = local_actor("world", kind="campaign")
        session.add(actor)
        await session.flush()
        session.add(CampaignState(campaign_id=actor.id, dirty=True))
        return actor.id


async def test_a_report_counted_while_the_rollup_is_built_leaves_the_campaign_dirty(db):
    campaign_id = await _campaign(db)
    building = asyncio.Event()
    release = asyncio.Event()

    async def publisher() -> None:
        async with db.write() as session:
            state = await impact_repo.lock_state(session, campaign_id)
            building.set()
            await release.wait()  # the rollup is being built from what was committed so far
            state.dirty = False

    async def counter() -> None:
        await building.wait()
        async with db.write() as session:
            await impact_repo.lock_state(session, campaign_id)
            await impact_repo.adjust_totals(
                session, campaign_id, "https://c.example/actors/c", {("kg", "kg"): Decimal(3)}
            )
            await impact_repo.mark_dirty(session, campaign_id)

    tasks = [asyncio.create_task(publisher()), asyncio.create_task(counter())]
    await building.wait()
    await asyncio.sleep(0.2)  # the counter is now waiting for the publisher
    release.set()
    await asyncio.gather(*tasks)

    async with db.read() as session:
        state = await impact_repo.state(session, campaign_id)
        totals = await impact_repo.totals(session, campaign_id)
    assert state is not None and state.dirty, "the report came after the rollup: publish again"
    assert totals == {("kg", "kg"): Decimal(3)}


async def test_concurrent_adjustments_lose_nothing(db):
    campaign_id = await _campaign(db)
    chapters = [f"https://c{i}.example/actors/c" for i in range(8)]

    async def add(chapter: str) -> None:
        for _ in range(5):
            async with db.write() as session:
                await impact_repo.adjust_totals(
                    session,
                    campaign_id,
                    chapter,
                    {("participants", "people"): Decimal(1), ("kg", "kg"): Decimal("0.5")},
                )

    await asyncio.gather(*(add(c) for c in chapters))
    async with db.read() as session:
        totals = await impact_repo.totals(session, campaign_id)
        per_chapter = await impact_repo.totals_by_chapter(session, campaign_id)
    assert totals == {("kg", "kg"): Decimal("20.0"), ("participants", "people"): Decimal(40)}
    assert all(v[("participants", "people")] == 5 for v in per_chapter.values())
    assert len(per_chapter) == 8
