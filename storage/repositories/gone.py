"""Remote actors that answered 410 Gone: mark them, drop their follows, stop their deliveries.

A 410 is the remote server saying the account was deleted for good (a deletion usually also
sends a ``Delete``, which may never reach us). Three aggregates change together, in the
caller's transaction, so this lives apart from each of them: the cached actor gets
``gone_at`` (a later successful fetch of its document clears it, see the resolver's row
values), its follows in either direction are removed, and the deliveries still pending for the
inbox that answered are dead-lettered as "gone" (no attempt is charged: none was made).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Delivery, Follow, RemoteActor
from storage.models.delivery import DEAD, PENDING

#: The reason a dead-lettered delivery carries (its ``last_error`` starts with it).
GONE = "gone"


@dataclass(frozen=True, slots=True)
class Departure:
    """What marking an actor or an inbox gone changed."""

    actors: tuple[str, ...]  # the remote actors now marked gone (ids)
    follows_removed: int
    deliveries_stopped: int


async def inbox_gone(session: AsyncSession, inbox: str, now: datetime, detail: str) -> Departure:
    """A delivery to ``inbox`` answered 410: the actors whose personal inbox it is are gone.

    For a shared inbox no one actor is named, but the followers we reach through it are
    dropped all the same (their server says the endpoint is gone).
    """
    owners = list(
        await session.scalars(select(RemoteActor.ap_id).where(RemoteActor.inbox == inbox))
    )
    return await _depart(session, owners, [inbox], now, detail, Follow.follower_inbox == inbox)


async def actor_gone(session: AsyncSession, actor_id: str, now: datetime, detail: str) -> Departure:
    """A fetch of ``actor_id``'s document answered 410: the actor is gone."""
    inboxes = list(
        await session.scalars(select(RemoteActor.inbox).where(RemoteActor.ap_id == actor_id))
    )
    return await _depart(session, [actor_id], inboxes, now, detail)


async def _depart(
    session: AsyncSession,
    actors: list[str],
    inboxes: list[str],
    now: datetime,
    detail: str,
    *also: ColumnElement[bool],
) -> Departure:
    marked: tuple[str, ...] = ()
    if actors:
        result = await session.execute(
            update(RemoteActor)
            .where(RemoteActor.ap_id.in_(actors), RemoteActor.gone_at.is_(None))
            .values(gone_at=now)
            .returning(RemoteActor.ap_id)
        )
        marked = tuple(str(ap_id) for ap_id in result.scalars())
    parties = list(also)
    if actors:
        parties += [Follow.follower.in_(actors), Follow.target.in_(actors)]
    removed = 0
    if parties:
        result = await session.execute(delete(Follow).where(or_(*parties)))
        removed = int(result.rowcount)  # type: ignore[attr-defined]
    stopped = 0
    if inboxes:
        result = await session.execute(
            update(Delivery)
            .where(Delivery.inbox.in_(inboxes), Delivery.state == PENDING)
            .values(state=DEAD, last_error=f"{GONE}: {detail}"[:2000], locked_until=None)
        )
        stopped = int(result.rowcount)  # type: ignore[attr-defined]
    return Departure(marked, removed, stopped)
