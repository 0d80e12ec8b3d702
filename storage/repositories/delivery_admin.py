"""The delivery queue as an operator sees it: list rows, re-queue failures, count for metrics.

Kept apart from ``deliveries`` (the worker's claim/lease protocol) because these queries serve
people and scrapers, not the send path. The database knows three states; operators need a
fourth, *failing* (still pending but already tried at least once), which says "this peer is
in trouble" long before a row goes dead. It is derived here, never stored.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Delivery, Domain, OutboxActivity
from storage.models.delivery import DEAD, PENDING, SENT
from storage.repositories import domains as domain_repo

FAILING = "failing"
#: The states an operator sees, in the order a listing or a metric reports them.
VIEW_STATES = (PENDING, FAILING, DEAD, SENT)


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    activity: str  # the activity's ap_id
    activity_type: str
    inbox: str
    host: str
    state: str  # one of VIEW_STATES
    attempts: int
    next_attempt_at: datetime | None  # None once the row is dead or sent: nothing is planned
    last_status: int | None
    last_error: str | None
    created_at: datetime


def _in_view_state(state: str) -> ColumnElement[bool]:
    """A condition on the stored columns; written per state so the (state, …) index serves."""
    if state == PENDING:
        return and_(Delivery.state == PENDING, Delivery.attempts == 0)
    if state == FAILING:
        return and_(Delivery.state == PENDING, Delivery.attempts > 0)
    if state in (DEAD, SENT):
        return Delivery.state == state
    raise ValueError(f"unknown delivery state {state!r} (expected one of {', '.join(VIEW_STATES)})")


def _view_state() -> ColumnElement[str]:
    return case(
        (and_(Delivery.state == PENDING, Delivery.attempts > 0), FAILING),
        else_=Delivery.state,
    )


async def list_deliveries(
    session: AsyncSession, *, states: Collection[str] | None, limit: int
) -> list[DeliveryView]:
    """Newest first, so a long backlog still shows what went wrong most recently."""
    wanted = VIEW_STATES if states is None else tuple(states)
    stmt = (
        select(
            Delivery.id,
            OutboxActivity.ap_id,
            OutboxActivity.activity_type,
            Delivery.inbox,
            Delivery.host,
            _view_state(),
            Delivery.attempts,
            Delivery.next_attempt_at,
            Delivery.last_status,
            Delivery.last_error,
            Delivery.created_at,
        )
        .join(OutboxActivity, OutboxActivity.id == Delivery.activity_id)
        .where(or_(false(), *(_in_view_state(s) for s in wanted)))
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    views = []
    for row in await session.execute(stmt):
        state = str(row[5])
        views.append(
            DeliveryView(
                id=row[0],
                activity=row[1],
                activity_type=row[2],
                inbox=row[3],
                host=row[4],
                state=state,
                attempts=row[6],
                next_attempt_at=row[7] if state in (PENDING, FAILING) else None,
                last_status=row[8],
                last_error=row[9],
                created_at=row[10],
            )
        )
    return views


async def requeue(
    session: AsyncSession,
    *,
    ids: Sequence[int] | None = None,
    all_dead: bool = False,
    host: str | None = None,
    now: datetime,
) -> int:
    """Give dead or failing rows a fresh start (due now, attempt count reset); returns how many.

    The selectors narrow each other (``all_dead`` with ``host``: that host's dead rows); at
    least one is required so a bare call can never re-queue everything. Pending rows never
    tried, sent rows, and rows leased by a worker right now are left alone: resetting a row
    in flight would let a second worker send it again while the first one is still at it.
    """
    if not ids and not all_dead and host is None:
        raise ValueError("requeue needs ids, all_dead or host")
    conditions: list[ColumnElement[bool]] = [
        or_(_in_view_state(DEAD), _in_view_state(FAILING)),
        or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
    ]
    if ids:
        conditions.append(Delivery.id.in_(list(ids)))
    if all_dead:
        conditions.append(_in_view_state(DEAD))
    if host is not None:
        conditions.append(Delivery.host == host)
    result = await session.execute(
        update(Delivery)
        .where(*conditions)
        # created_at restarts too: the row gets a whole new retry life, not an instant expiry.
        .values(state=PENDING, attempts=0, next_attempt_at=now, locked_until=None, created_at=now)
        .execution_options(synchronize_session=False)
    )
    if host is not None:
        # The admin vouches for the host: stop holding its deliveries.
        await domain_repo.record_success(session, host, now)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def queue_counts(session: AsyncSession) -> dict[str, int]:
    """Rows per operator state; every state is present, zero when empty (gauges need that)."""
    state = _view_state()
    rows = await session.execute(select(state, func.count()).group_by(state))
    counts = dict.fromkeys(VIEW_STATES, 0)
    for name, n in rows:
        counts[str(name)] = int(n)
    return counts


async def unavailable_domains(session: AsyncSession) -> int:
    """Hosts whose deliveries are held until they answer again."""
    return int(
        await session.scalar(
            select(func.count()).select_from(Domain).where(Domain.unavailable_since.is_not(None))
        )
        or 0
    )
