"""The durable delivery queue: enqueue in the caller's transaction, claim under a lease."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    Select,
    Table,
    Text,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.dialect import insert_ignore
from storage.models import Delivery, Domain, LocalActor, OutboxActivity
from storage.models.delivery import DEAD, PENDING, SENT


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    id: int
    inbox: str
    host: str
    attempts: int
    activity_id: str
    actor_id: int
    body: str  # the activity as stored: compact JSON, sent as is
    actor_public_pem: str  # lets the sender notice a key rotation without another query


async def enqueue(
    session: AsyncSession,
    activity_pk: int,
    targets: Iterable[tuple[str, str]],
    now: datetime,
    ordering_key: str | None = None,
) -> None:
    """One pending row per (activity, inbox); ``targets`` are (inbox, host) pairs."""
    rows = _pending_rows(activity_pk, dict(targets), now, ordering_key)
    if rows:
        stmt = insert_ignore(session, Delivery.__table__, ["activity_id", "inbox"])  # type: ignore[arg-type]
        await session.execute(stmt, rows)


_TABLE: Table = Delivery.__table__  # type: ignore[assignment]
_INSERT = insert(_TABLE)  # built once: see ``enqueue_new``


async def enqueue_new(
    session: AsyncSession,
    activity_pk: int,
    targets: Mapping[str, str],
    now: datetime,
    ordering_key: str | None = None,
) -> None:
    """:func:`enqueue` for an activity stored in this very transaction: one pending row per
    inbox of ``targets`` (inbox -> host; a mapping, so each inbox once).

    No row for that activity can exist yet, nor appear from another transaction (its foreign
    key names a row only this one sees), so a plain INSERT does: one statement, with the
    driver's ``executemany`` for a fan-out, and no per-dialect upsert to build.
    """
    if targets:
        await session.execute(_INSERT, _pending_rows(activity_pk, targets, now, ordering_key))


def _pending_rows(
    activity_pk: int, targets: Mapping[str, str], now: datetime, ordering_key: str | None
) -> list[dict[str, object]]:
    """A new delivery row for each inbox of ``targets`` (inbox -> host), due now."""
    return [
        {
            "activity_id": activity_pk,
            "inbox": inbox,
            "host": host,
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "ordering_key": ordering_key,
        }
        for inbox, host in targets.items()
    ]


def _due_statement(*, skip_locked: bool, with_busy: bool) -> Select[Any]:
    earlier = aliased(Delivery)
    held = select(Domain.host).where(
        Domain.unavailable_since.is_not(None),
        Domain.last_failure_at > bindparam("probe_cutoff"),
    )
    now: BindParameter[datetime] = bindparam("now")
    due = (
        select(Delivery.id)
        .where(
            Delivery.state == PENDING,
            Delivery.next_attempt_at <= now,
            or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
            Delivery.host.not_in(held),
            or_(
                Delivery.ordering_key.is_(None),
                ~exists().where(
                    earlier.inbox == Delivery.inbox,
                    earlier.ordering_key == Delivery.ordering_key,
                    earlier.state == PENDING,
                    earlier.id < Delivery.id,
                ),
            ),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(bindparam("limit"))
    )
    if with_busy:
        due = due.where(Delivery.host.not_in(bindparam("busy", expanding=True)))
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    return due


# Built once: constructing these expressions costs more than running them on a small queue.
_DUE = {
    (skip, busy): _due_statement(skip_locked=skip, with_busy=busy)
    for skip in (False, True)
    for busy in (False, True)
}
_LEASE = (
    update(Delivery)
    .where(Delivery.id.in_(bindparam("ids", expanding=True)))
    .values(locked_until=bindparam("until"))
    .execution_options(synchronize_session=False)
)
_CLAIMED = (
    select(Delivery.id, Delivery.inbox, Delivery.host, Delivery.attempts, Delivery.activity_id)
    .where(Delivery.id.in_(bindparam("ids", expanding=True)))
    .order_by(Delivery.next_attempt_at, Delivery.id)
)
# Once per activity, not per row: a fan-out's rows share one body and one key.
_ACTIVITIES = (
    select(
        OutboxActivity.id,
        OutboxActivity.ap_id,
        OutboxActivity.actor_id,
        # The stored compact JSON is exactly the body to send: no parse, no re-serialisation.
        type_coerce(OutboxActivity.body, Text),
        LocalActor.rsa_public_pem,
    )
    .join(LocalActor, LocalActor.id == OutboxActivity.actor_id)
    .where(OutboxActivity.id.in_(bindparam("ids", expanding=True)))
)


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    busy_hosts: Collection[str] = (),
    probe_interval: timedelta = timedelta(hours=1),
) -> list[ClaimedDelivery]:
    """Lease up to ``limit`` due rows; a crashed worker's lease expires and rows return.

    Skipped: hosts already at their concurrency cap (``busy_hosts``), hosts marked
    unavailable (except one probe per ``probe_interval``), and rows queued behind an earlier
    pending row for the same inbox and object, so an object's activities arrive in order.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    params: dict[str, Any] = {"now": now, "probe_cutoff": now - probe_interval, "limit": limit}
    if busy_hosts:
        params["busy"] = list(busy_hosts)
    ids = list(await session.scalars(_DUE[(postgres, bool(busy_hosts))], params))
    if not ids:
        return []
    await session.execute(_LEASE, {"ids": ids, "until": now + lease})
    rows = (await session.execute(_CLAIMED, {"ids": ids})).all()
    activities = {
        pk: (ap_id, actor_id, body, pem)
        for pk, ap_id, actor_id, body, pem in await session.execute(
            _ACTIVITIES, {"ids": list({row.activity_id for row in rows})}
        )
    }
    return [
        ClaimedDelivery(row_id, inbox, host, attempts, *activities[activity_pk])
        for row_id, inbox, host, attempts, activity_pk in rows
    ]


async def release(session: AsyncSession, delivery_ids: Sequence[int]) -> None:
    """Give back leased rows not attempted now (their host is at its cap) or interrupted by a
    shutdown: due again at once, no attempt charged."""
    if delivery_ids:
        await session.execute(
            update(Delivery).where(Delivery.id.in_(list(delivery_ids))).values(locked_until=None)
        )


async def expire_older_than(session: AsyncSession, cutoff: datetime, error: str) -> int:
    """Dead-letter pending rows created before ``cutoff`` (e.g. held for an unavailable host)."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.state == PENDING, Delivery.created_at < cutoff)
        .values(state=DEAD, last_error=error, locked_until=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def mark_sent(
    session: AsyncSession, delivery_id: int | Sequence[int], *, now: datetime, status: int
) -> None:
    ids = [delivery_id] if isinstance(delivery_id, int) else list(delivery_id)
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids))
        .values(
            state=SENT,
            sent_at=now,
            last_status=status,
            locked_until=None,
            attempts=Delivery.attempts + 1,
            last_error=None,
        )
    )


async def mark_retry(
    session: AsyncSession,
    delivery_id: int,
    *,
    next_attempt_at: datetime,
    status: int | None,
    error: str,
) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(
            next_attempt_at=next_attempt_at,
            last_status=status,
            last_error=error[:2000],
            locked_until=None,
            attempts=Delivery.attempts + 1,
        )
    )


async def mark_dead(
    session: AsyncSession, delivery_id: int, *, status: int | None, error: str
) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(
            state=DEAD,
            last_status=status,
            last_error=error[:2000],
            locked_until=None,
            attempts=Delivery.attempts + 1,
        )
    )


#: States a row never leaves (but for an operator's re-queue): the purge may drop them.
FINISHED = (SENT, DEAD)


async def finished_before(
    session: AsyncSession, state: str, cutoff: datetime, *, limit: int
) -> list[int]:
    """Ids of up to ``limit`` rows in ``state`` (sent or dead) created before ``cutoff``.

    Read in the order of the ``(state, next_attempt_at)`` index, which follows creation
    closely: old rows come first and the scan stops at ``limit``. The purge deletes each page,
    so the next one starts at the front again.
    """
    stmt = (
        select(Delivery.id)
        .where(Delivery.state == state, Delivery.created_at < cutoff)
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def count_finished_before(session: AsyncSession, cutoff: datetime) -> int:
    stmt = select(func.count()).where(Delivery.state.in_(FINISHED), Delivery.created_at < cutoff)
    return int(await session.scalar(stmt) or 0)


async def delete_finished(session: AsyncSession, delivery_ids: Sequence[int]) -> int:
    """Delete these rows if still sent or dead (one re-queued meanwhile stays)."""
    if not delivery_ids:
        return 0
    result = await session.execute(
        delete(Delivery).where(Delivery.id.in_(list(delivery_ids)), Delivery.state.in_(FINISHED))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def counts_by_state(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
    return {str(state): int(n) for state, n in rows}
