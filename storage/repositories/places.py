"""Places in our calls: who holds one (per slot), who waits for one, and who organises.

Every function runs in the caller's unit of work, which holds the call's row lock (SQLite:
the write lock; PostgreSQL: ``SELECT ... FOR UPDATE`` on the call), so the counts read here
are the counts the decision is made on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LocalActor, Membership, Participant
from storage.models.states import PlaceState, Role

ACCEPTED = PlaceState.ACCEPTED
WAITLISTED = PlaceState.WAITLISTED
ORGANISER_ROLES = (Role.ORGANISER, Role.ADMIN)


async def accepted_counts(session: AsyncSession, call_id: int) -> tuple[int, dict[str | None, int]]:
    """The places held in a call: in all, and per slot id (``None``: no slot)."""
    rows = await session.execute(
        select(Participant.slot, func.count())
        .where(Participant.call_id == call_id, Participant.state == ACCEPTED)
        .group_by(Participant.slot)
    )
    per_slot = {slot: int(n) for slot, n in rows}
    return sum(per_slot.values()), per_slot


async def waitlisted(session: AsyncSession, call_id: int) -> list[Participant]:
    """The call's waiting list, first come first served (``id`` order)."""
    return list(
        await session.scalars(
            select(Participant)
            .where(Participant.call_id == call_id, Participant.state == WAITLISTED)
            .order_by(Participant.id)
        )
    )


async def waiting_position(session: AsyncSession, place: Participant) -> int:
    """``place``'s number on its waiting list: 1 + those before it who wait for the same slot,
    or for any slot, or (when ``place`` takes any slot) for any slot at all."""
    stmt = select(func.count()).where(
        Participant.call_id == place.call_id,
        Participant.state == WAITLISTED,
        Participant.id < place.id,
    )
    if place.slot is not None:
        stmt = stmt.where(or_(Participant.slot == place.slot, Participant.slot.is_(None)))
    return int(await session.scalar(stmt) or 0) + 1


async def add_place(
    session: AsyncSession,
    call_id: int,
    actor: str,
    join_id: str,
    now: datetime,
    *,
    state: str,
    slot: str | None,
) -> Participant:
    row = Participant(
        call_id=call_id,
        actor=actor,
        join_activity_id=join_id,
        created_at=now,
        state=state,
        slot=slot,
    )
    session.add(row)
    await session.flush()
    return row


async def organisers_of(session: AsyncSession, chapter_id: int) -> list[str]:
    """The actor ids of a local chapter's organisers and admins (active memberships)."""
    rows = await session.scalars(
        select(LocalActor.ap_id)
        .join(Membership, Membership.member_id == LocalActor.id)
        .where(
            Membership.chapter_id == chapter_id,
            Membership.active.is_(True),
            Membership.role.in_(ORGANISER_ROLES),
        )
        .order_by(Membership.id)
    )
    return list(rows)
