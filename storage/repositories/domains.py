"""Remote hosts: liveness (failing since, unavailable since) and signature-scheme knowledge."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignore
from storage.models import Domain
from storage.models.domain import NO, UNKNOWN


async def _ensure(session: AsyncSession, host: str) -> None:
    stmt = insert_ignore(session, Domain.__table__, ["host"])  # type: ignore[arg-type]
    await session.execute(stmt.values(host=host, rfc9421=UNKNOWN))


async def get(session: AsyncSession, host: str) -> Domain | None:
    return await session.get(Domain, host)


async def record_success(session: AsyncSession, host: str, now: datetime) -> bool:
    """The host answered: it is alive. Returns True when it had been marked unavailable."""
    row = await session.get(Domain, host)
    revived = row is not None and row.unavailable_since is not None
    if row is None or row.failing_since is not None or revived:
        await _ensure(session, host)
        await session.execute(
            update(Domain)
            .where(Domain.host == host)
            .values(failing_since=None, unavailable_since=None, last_success_at=now)
        )
    return revived


async def record_failure(
    session: AsyncSession, host: str, now: datetime, unavailable_after: timedelta
) -> bool:
    """The host failed; returns True when this failure makes it unavailable."""
    await _ensure(session, host)
    row = await session.get(Domain, host, populate_existing=True)
    assert row is not None
    row.last_failure_at = now
    if row.failing_since is None:
        row.failing_since = now
    if row.unavailable_since is None and becomes_unavailable(
        row.failing_since, now, unavailable_after
    ):
        row.unavailable_since = now
        return True
    return False


def becomes_unavailable(
    failing_since: datetime, now: datetime, unavailable_after: timedelta
) -> bool:
    """A host failing without a break for ``unavailable_after`` is marked unavailable: its
    deliveries are held (one probe an interval) until it answers again. Pure, so the planet
    simulation (bench/planet) applies the same rule."""
    return now - failing_since >= unavailable_after


async def unavailable_hosts(session: AsyncSession) -> set[str]:
    rows = await session.scalars(select(Domain.host).where(Domain.unavailable_since.is_not(None)))
    return set(rows)


async def set_rfc9421(session: AsyncSession, host: str, value: str) -> None:
    """Remember whether a host takes RFC 9421; a 401-proven "no" is never overturned."""
    await _ensure(session, host)
    stmt = update(Domain).where(Domain.host == host).values(rfc9421=value)
    if value != NO:
        stmt = stmt.where(Domain.rfc9421 != NO)
    await session.execute(stmt)


async def rfc9421_hosts(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(
        select(Domain.host, Domain.rfc9421).where(Domain.rfc9421 != UNKNOWN)
    )
    return {str(h): str(v) for h, v in rows}


async def failing_hosts(session: AsyncSession) -> set[str]:
    rows = await session.scalars(select(Domain.host).where(Domain.failing_since.is_not(None)))
    return set(rows)
