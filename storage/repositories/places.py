"""Places in our calls: who holds one (per slot), who waits for one, and who organises.

Every function runs in the caller's unit of work, which holds the call's row lock (SQLite:
the write lock; PostgreSQL: ``SELECT ... FOR UPDATE`` on the call), so the counts read here
are the counts the decision is made on."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, cast

from sqlalchemy import Table, bindparam, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage.models import LocalActor, Membership, Participant, RsvpBan
from storage.models.states import PlaceState, Role

ACCEPTED = PlaceState.ACCEPTED
WAITLISTED = PlaceState.WAITLISTED
ORGANISER_ROLES = (Role.ORGANISER, Role.ADMIN)

# The statements of every Join, built once (plain Core: no ORM entities to load, and no
# statement to build and key for the cache each time).
_PLACES = Participant.__table__.c
_COUNTS = (
    select(_PLACES.slot, func.count())
    .where(_PLACES.call_id == bindparam("call"), _PLACES.state == ACCEPTED)
    .group_by(_PLACES.slot)
)
_STANDING = select(
    select(RsvpBan.__table__.c.id)
    .where(
        RsvpBan.__table__.c.chapter_id == bindparam("chapter"),
        RsvpBan.__table__.c.actor == bindparam("actor"),
    )
    .scalar_subquery(),
    select(_PLACES.id)
    .where(_PLACES.call_id == bindparam("call"), _PLACES.actor == bindparam("actor"))
    .scalar_subquery(),
)
_INSERT_PLACE = insert(cast(Table, Participant.__table__))
_ACTORS = LocalActor.__table__.c
_MEMBERSHIPS = Membership.__table__.c
_ORGANISERS = (
    select(_ACTORS.ap_id, _ACTORS.id, _ACTORS.kind, _ACTORS.email)
    .join_from(LocalActor.__table__, Membership.__table__, _MEMBERSHIPS.member_id == _ACTORS.id)
    .where(
        _MEMBERSHIPS.chapter_id == bindparam("chapter"),
        _MEMBERSHIPS.active.is_(True),
        _MEMBERSHIPS.role.in_(ORGANISER_ROLES),
    )
    .order_by(_MEMBERSHIPS.id)
)


async def accepted_counts(session: AsyncSession, call_id: int) -> tuple[int, dict[str | None, int]]:
    """The places held in a call: in all, and per slot id (``None``: no slot)."""
    rows = await session.execute(_COUNTS, {"call": call_id})
    per_slot = {slot: int(n) for slot, n in rows}
    return sum(per_slot.values()), per_slot


def accepted_counts_sync(session: Session, call_id: int) -> tuple[int, dict[str | None, int]]:
    """``accepted_counts`` on a sync ``Session`` (for a session event, e.g. before a commit)."""
    per_slot = {slot: int(n) for slot, n in session.execute(_COUNTS, {"call": call_id})}
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


async def insert_place(
    session: AsyncSession,
    call_id: int,
    actor: str,
    join_id: str,
    now: datetime,
    *,
    state: str,
    slot: str | None,
) -> Participant:
    """A new place (a Join's), as one plain INSERT (no unit-of-work flush: a Join handled in a
    batch costs a statement, not a flush). The place returned is not in the session: read it, do
    not change it (load it with ``actions.participant`` to change it)."""
    values = {
        "call_id": call_id,
        "actor": actor,
        "join_activity_id": join_id,
        "created_at": now,
        "state": state,
        "slot": slot,
    }
    result = await session.execute(_INSERT_PLACE, values)
    return Participant(id=result.inserted_primary_key[0], **values)  # type: ignore[attr-defined]


async def join_standing(
    session: AsyncSession, chapter_id: int, call_id: int, actor: str
) -> tuple[bool, int | None]:
    """For a Join of ``actor``, in one statement: whether the chapter banned them
    (``moderation.is_banned``), and the id of the place they already have in the call."""
    row = (
        await session.execute(_STANDING, {"chapter": chapter_id, "call": call_id, "actor": actor})
    ).one()
    return row[0] is not None, row[1]


class Organiser(NamedTuple):
    """What telling an organiser needs (``notify_members``): no ORM row, no documents."""

    ap_id: str
    id: int
    kind: str
    email: str | None


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


async def organisers_to_tell(session: AsyncSession, chapter_id: int) -> list[Organiser]:
    """``organisers_of`` with what a notification needs of each, in one narrow query."""
    rows = await session.execute(_ORGANISERS, {"chapter": chapter_id})
    return [Organiser(*row) for row in rows]
