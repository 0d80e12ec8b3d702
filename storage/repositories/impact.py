"""Reports, contributions and running totals. Every adjustment touches O(metrics) rows."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignore
from storage.models import CampaignState, CampaignTotal, Contribution, ImpactReport, TotalsSnapshot

MetricKey = tuple[str, str]
CAMPAIGN_WIDE = ""


def encode_values(values: Mapping[MetricKey, Decimal]) -> dict[str, str]:
    return {f"{m}|{u}": str(v) for (m, u), v in values.items()}


def decode_values(data: Mapping[str, str] | None) -> dict[MetricKey, Decimal]:
    out: dict[MetricKey, Decimal] = {}
    for key, value in (data or {}).items():
        metric, _, unit = key.partition("|")
        out[(metric, unit)] = Decimal(value)
    return out


async def report(session: AsyncSession, ap_id: str) -> ImpactReport | None:
    return await session.scalar(select(ImpactReport).where(ImpactReport.ap_id == ap_id))


async def contribution(
    session: AsyncSession, campaign_id: int, report_id: str
) -> Contribution | None:
    stmt = select(Contribution).where(
        Contribution.campaign_id == campaign_id, Contribution.report == report_id
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def adjust_totals(
    session: AsyncSession, campaign_id: int, chapter: str, change: Mapping[MetricKey, Decimal]
) -> None:
    """Add ``change`` to the campaign-wide totals and to the chapter's own.

    Rows are locked (PostgreSQL) in one fixed order, so concurrent adjustments queue instead of
    losing an update, and never deadlock.
    """
    table = CampaignTotal.__table__
    for scope in (CAMPAIGN_WIDE, chapter):
        for (metric, unit), amount in sorted(change.items()):
            await session.execute(
                insert_ignore(session, table, ["campaign_id", "chapter", "metric", "unit"]).values(  # type: ignore[arg-type]
                    campaign_id=campaign_id, chapter=scope, metric=metric, unit=unit, value="0"
                )
            )
            row = await session.scalar(
                select(CampaignTotal)
                .where(
                    CampaignTotal.campaign_id == campaign_id,
                    CampaignTotal.chapter == scope,
                    CampaignTotal.metric == metric,
                    CampaignTotal.unit == unit,
                )
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            assert row is not None
            row.value = str(Decimal(row.value) + amount)


async def lock_state(session: AsyncSession, campaign_id: int) -> CampaignState:
    """The campaign's state row, created if missing and locked until the transaction ends.

    Counting reports and publishing the rollup both take this lock first, so on PostgreSQL
    (READ COMMITTED, many processes) a report counted while a rollup is being built always leaves
    the campaign dirty, and two reports never adjust the same totals at once. SQLite's writer is
    already exclusive (BEGIN IMMEDIATE), where FOR UPDATE is not rendered.
    """
    locked = (
        select(CampaignState)
        .where(CampaignState.campaign_id == campaign_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    state = await session.scalar(locked)
    if state is None:  # the campaign's first report: create the row (once, whoever is first)
        await session.execute(
            insert_ignore(session, CampaignState.__table__, ["campaign_id"]).values(  # type: ignore[arg-type]
                campaign_id=campaign_id, dirty=False
            )
        )
        state = await session.scalar(locked)
    assert state is not None
    return state


async def mark_dirty(session: AsyncSession, campaign_id: int) -> None:
    (await lock_state(session, campaign_id)).dirty = True


async def totals(
    session: AsyncSession, campaign_id: int, chapter: str = CAMPAIGN_WIDE
) -> dict[MetricKey, Decimal]:
    rows = await session.scalars(
        select(CampaignTotal)
        .where(CampaignTotal.campaign_id == campaign_id, CampaignTotal.chapter == chapter)
        .order_by(CampaignTotal.metric, CampaignTotal.unit)
    )
    return {(r.metric, r.unit): Decimal(r.value) for r in rows}


async def totals_by_chapter(
    session: AsyncSession, campaign_id: int
) -> dict[str, dict[MetricKey, Decimal]]:
    rows = await session.scalars(
        select(CampaignTotal).where(
            CampaignTotal.campaign_id == campaign_id, CampaignTotal.chapter != CAMPAIGN_WIDE
        )
    )
    out: dict[str, dict[MetricKey, Decimal]] = {}
    for r in rows:
        out.setdefault(r.chapter, {})[(r.metric, r.unit)] = Decimal(r.value)
    return out


async def live_contributions(session: AsyncSession, campaign_id: int) -> list[Contribution]:
    """Every contribution not retracted, counted or excluded (the rollup lists both)."""
    stmt = select(Contribution).where(
        Contribution.campaign_id == campaign_id, Contribution.retracted.is_(False)
    )
    return list(await session.scalars(stmt.order_by(Contribution.id)))


async def live_contribution_for_call(
    session: AsyncSession, campaign_id: int, chapter: str, call: str
) -> Contribution | None:
    """The chapter's live contribution for one of its calls: one per (chapter, call)."""
    stmt = select(Contribution).where(
        Contribution.campaign_id == campaign_id,
        Contribution.chapter == chapter,
        Contribution.call == call,
        Contribution.retracted.is_(False),
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return await session.scalar(stmt.order_by(Contribution.id.desc()).limit(1))


async def contributions_matching(
    session: AsyncSession, campaign_id: int, target: str
) -> list[Contribution]:
    """Live contributions of a report or of a whole chapter."""
    stmt = select(Contribution).where(
        Contribution.campaign_id == campaign_id,
        Contribution.retracted.is_(False),
        (Contribution.report == target) | (Contribution.chapter == target),
    )
    return list(await session.scalars(stmt.order_by(Contribution.id)))


async def chapter_count(session: AsyncSession, campaign_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count(func.distinct(Contribution.chapter))).where(
                Contribution.campaign_id == campaign_id,
                Contribution.retracted.is_(False),
                Contribution.excluded.is_(None),
            )
        )
        or 0
    )


async def dirty_campaigns(session: AsyncSession) -> list[int]:
    return list(
        await session.scalars(
            select(CampaignState.campaign_id).where(CampaignState.dirty.is_(True))
        )
    )


async def state(session: AsyncSession, campaign_id: int) -> CampaignState | None:
    return await session.get(CampaignState, campaign_id)


async def add_snapshot(
    session: AsyncSession,
    campaign_id: int,
    at: datetime,
    count: int,
    values: Mapping[MetricKey, Decimal],
) -> None:
    session.add(
        TotalsSnapshot(
            campaign_id=campaign_id, at=at, chapter_count=count, totals=encode_values(values)
        )
    )


async def snapshots(
    session: AsyncSession, campaign_id: int, limit: int = 500
) -> list[TotalsSnapshot]:
    return list(
        await session.scalars(
            select(TotalsSnapshot)
            .where(TotalsSnapshot.campaign_id == campaign_id)
            .order_by(TotalsSnapshot.id.desc())
            .limit(limit)
        )
    )[::-1]


async def local_live_reports_of_call(session: AsyncSession, call: str) -> list[ImpactReport]:
    """The reports this node published on ``call`` and has not retracted, oldest first."""
    stmt = select(ImpactReport).where(
        ImpactReport.call == call,
        ImpactReport.local_actor_id.is_not(None),
        ImpactReport.retracted.is_(False),
    )
    return list(await session.scalars(stmt.order_by(ImpactReport.id)))


async def held_versions(
    session: AsyncSession, ap_ids: Collection[str], chunk: int = 500
) -> dict[str, tuple[str, bool]]:
    """(SHA-256, retracted) of the reports we hold among ``ap_ids``, in a few queries."""
    ids = list(ap_ids)
    held: dict[str, tuple[str, bool]] = {}
    for start in range(0, len(ids), chunk):
        rows = await session.execute(
            select(ImpactReport.ap_id, ImpactReport.sha256, ImpactReport.retracted).where(
                ImpactReport.ap_id.in_(ids[start : start + chunk])
            )
        )
        for ap_id, sha256, retracted in rows:
            held[ap_id] = (sha256, bool(retracted))
    return held
