"""The durable follow-up queue: enqueue in the handler's transaction, claim under a lease.

Claimed like deliveries (storage/repositories/deliveries.py): due rows are selected (``FOR
UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never take the same row) and leased by
setting ``locked_until``; a crashed worker's lease expires and its rows are claimed again.

Most work is recorded once (``enqueue``: a key already recorded is left alone). Work that recurs
and can be coalesced (send a call's current participant count) uses ``schedule_once``: one row
per key, set pending again after it ran, at most once per spacing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, Select, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignore
from storage.models import FollowUp
from storage.models.follow_up import DEAD, DONE, MAX_KEY_LENGTH, PENDING


@dataclass(frozen=True, slots=True)
class NewFollowUp:
    """Work to record: ``kind`` names its handler; (kind, key) is recorded once."""

    kind: str
    key: str
    payload: Any
    host: str


@dataclass(frozen=True, slots=True)
class ClaimedFollowUp:
    id: int
    kind: str
    key: str
    payload: Any
    host: str
    attempts: int  # attempts made before this one


def stored_key(key: str) -> str:
    """The key as stored: a key too long for the column is stored as its SHA-256."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


async def enqueue(session: AsyncSession, items: Iterable[NewFollowUp], now: datetime) -> None:
    """One pending row per (kind, key); work already recorded (in any state) is left alone."""
    rows = {
        (item.kind, stored_key(item.key)): {
            "kind": item.kind,
            "key": stored_key(item.key),
            "payload": item.payload,
            "host": item.host[:300],
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for item in items
    }
    if rows:
        stmt = insert_ignore(session, FollowUp.__table__, ["kind", "key"])  # type: ignore[arg-type]
        await session.execute(stmt, list(rows.values()))


def _row_values(item: NewFollowUp, now: datetime, due: datetime) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "key": stored_key(item.key),
        "payload": item.payload,
        "host": item.host[:300],
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": due,
        "created_at": now,
        "updated_at": now,
    }


async def schedule_once(
    session: AsyncSession, item: NewFollowUp, *, now: datetime, spacing: timedelta
) -> bool:
    """Record ``item`` to run once more, no sooner than ``spacing`` after its last run: work
    that can be coalesced (send the current state, not every change). Returns False when the
    request was absorbed by a run already waiting.

    - no row yet: pending, due now;
    - pending and not running: left alone (that run will see the latest state): coalesced;
    - done or dead: pending again, due ``spacing`` after it last ran (``updated_at``);
    - pending and leased (running now, maybe past reading the state this change makes): the
      lease is taken back and the row is due ``spacing`` from now. The running worker's
      ``mark_done`` then leaves the row alone (it only settles leased rows), so this change is
      never lost to a run that began before it.

    Callers serialise requests for one key themselves (e.g. under a lock on the row the work is
    about); the unique (kind, key) keeps the queue to one row per key whatever happens.
    """
    key = stored_key(item.key)
    found = (
        await session.execute(
            select(FollowUp.id, FollowUp.state, FollowUp.locked_until, FollowUp.updated_at)
            .where(FollowUp.kind == item.kind, FollowUp.key == key)
            .with_for_update()
        )
    ).first()
    if found is None:
        stmt = insert_ignore(session, FollowUp.__table__, ["kind", "key"])  # type: ignore[arg-type]
        await session.execute(stmt, [_row_values(item, now, now)])
        return True
    row_id, state, locked_until, last_run = found
    running = locked_until is not None and locked_until >= now
    if state == PENDING and not running:
        return False
    due = now + spacing if state == PENDING else max(now, last_run + spacing)
    values = _row_values(item, now, due)
    del values["created_at"]
    await session.execute(
        update(FollowUp)
        .where(FollowUp.id == row_id)
        .values(**values, locked_until=None, last_error=None)
    )
    return True


async def absorb(session: AsyncSession, kind: str, key: str, *, now: datetime) -> None:
    """The work of (kind, key) was just done another way (an organiser's edit sent the call's
    whole document): a row waiting to run is done now, and a done row counts as run now, so
    the next ``schedule_once`` waits its spacing from here. A row running now is left alone."""
    idle = or_(FollowUp.locked_until.is_(None), FollowUp.locked_until < now)
    await session.execute(
        update(FollowUp)
        .where(
            FollowUp.kind == kind,
            FollowUp.key == stored_key(key),
            or_(FollowUp.state == DONE, and_(FollowUp.state == PENDING, idle)),
        )
        .values(state=DONE, locked_until=None, last_error=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def _due_statement(*, skip_locked: bool, with_busy: bool) -> Select[Any]:
    now: BindParameter[datetime] = bindparam("now")
    due = (
        select(FollowUp.id)
        .where(
            FollowUp.state == PENDING,
            FollowUp.next_attempt_at <= now,
            or_(FollowUp.locked_until.is_(None), FollowUp.locked_until < now),
        )
        .order_by(FollowUp.next_attempt_at, FollowUp.id)
        .limit(bindparam("limit"))
    )
    if with_busy:
        due = due.where(FollowUp.host.not_in(bindparam("busy", expanding=True)))
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    return due


_DUE = {
    (skip, busy): _due_statement(skip_locked=skip, with_busy=busy)
    for skip in (False, True)
    for busy in (False, True)
}
_LEASE = (
    update(FollowUp)
    .where(FollowUp.id.in_(bindparam("ids", expanding=True)))
    .values(locked_until=bindparam("until"))
    .execution_options(synchronize_session=False)
)
_CLAIMED = (
    select(
        FollowUp.id,
        FollowUp.kind,
        FollowUp.key,
        FollowUp.payload,
        FollowUp.host,
        FollowUp.attempts,
    )
    .where(FollowUp.id.in_(bindparam("ids", expanding=True)))
    .order_by(FollowUp.next_attempt_at, FollowUp.id)
)


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    busy_hosts: Collection[str] = (),
) -> list[ClaimedFollowUp]:
    """Lease up to ``limit`` due rows, none for the hosts in ``busy_hosts`` (at their cap)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    params: dict[str, Any] = {"now": now, "limit": limit}
    if busy_hosts:
        params["busy"] = list(busy_hosts)
    ids = list(await session.scalars(_DUE[(postgres, bool(busy_hosts))], params))
    if not ids:
        return []
    await session.execute(_LEASE, {"ids": ids, "until": now + lease})
    rows = await session.execute(_CLAIMED, {"ids": ids})
    return [ClaimedFollowUp(*row) for row in rows]


async def release(session: AsyncSession, ids: Sequence[int]) -> None:
    """Give back leased rows that will not be run now (their host is at its cap)."""
    if ids:
        await session.execute(
            update(FollowUp).where(FollowUp.id.in_(list(ids))).values(locked_until=None)
        )


#: The outcome of a run settles its row only while the row is leased: a row whose lease was
#: taken back meanwhile (``schedule_once``: asked to run again) keeps its new schedule.
_LEASED = FollowUp.locked_until.is_not(None)


async def mark_done(session: AsyncSession, follow_up_id: int, *, now: datetime) -> None:
    await session.execute(
        update(FollowUp)
        .where(FollowUp.id == follow_up_id, _LEASED)
        .values(
            state=DONE,
            locked_until=None,
            attempts=FollowUp.attempts + 1,
            last_error=None,
            updated_at=now,
        )
    )


async def mark_retry(
    session: AsyncSession,
    follow_up_id: int,
    *,
    now: datetime,
    next_attempt_at: datetime,
    error: str,
) -> None:
    await session.execute(
        update(FollowUp)
        .where(FollowUp.id == follow_up_id, _LEASED)
        .values(
            next_attempt_at=next_attempt_at,
            locked_until=None,
            attempts=FollowUp.attempts + 1,
            last_error=error[:2000],
            updated_at=now,
        )
    )


async def mark_dead(session: AsyncSession, follow_up_id: int, *, now: datetime, error: str) -> None:
    await session.execute(
        update(FollowUp)
        .where(FollowUp.id == follow_up_id, _LEASED)
        .values(
            state=DEAD,
            locked_until=None,
            attempts=FollowUp.attempts + 1,
            last_error=error[:2000],
            updated_at=now,
        )
    )


async def counts_by_state(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(FollowUp.state, func.count()).group_by(FollowUp.state))
    return {str(state): int(n) for state, n in rows}
