"""Follow relationships in both directions, and the collections built from them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import bindparam, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Follow, LocalActor, RemoteActor
from storage.models.follow import ACCEPTED, PENDING
from storage.models.states import ActorKind

Relation = Literal["followers", "following"]


async def follow_between(session: AsyncSession, follower: str, target: str) -> Follow | None:
    return await session.scalar(
        select(Follow).where(Follow.follower == follower, Follow.target == target)
    )


async def follow_by_activity(session: AsyncSession, activity_id: str) -> Follow | None:
    return await session.scalar(select(Follow).where(Follow.activity_id == activity_id))


async def put_follow(
    session: AsyncSession,
    *,
    activity_id: str,
    follower: str,
    target: str,
    follower_inbox: str | None,
    state: str,
    now: datetime,
) -> Follow:
    """Record a follow request; a repeated request replaces the earlier one."""
    row = await follow_between(session, follower, target)
    if row is None:
        row = Follow(
            activity_id=activity_id,
            follower=follower,
            target=target,
            follower_inbox=follower_inbox,
            state=state,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    else:
        row.activity_id = activity_id
        row.follower_inbox = follower_inbox
        row.state = state
        row.updated_at = now
    await session.flush()
    return row


async def remove_follow(session: AsyncSession, follower: str, target: str) -> bool:
    result = await session.execute(
        delete(Follow).where(Follow.follower == follower, Follow.target == target)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


#: The two sides of the follow relation: (the column naming the actor, the column listed).
_SIDES = {
    "followers": (Follow.target, Follow.follower),
    "following": (Follow.follower, Follow.target),
}


async def related_ids_page(
    session: AsyncSession, actor: str, side: Relation, *, offset: int, limit: int
) -> list[str]:
    """Who follows ``actor`` (``followers``) or whom it follows (``following``), accepted
    follows only, in the order they were made."""
    mine, theirs = _SIDES[side]
    rows = await session.scalars(
        select(theirs)
        .where(mine == actor, Follow.state == ACCEPTED)
        .order_by(Follow.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows)


async def count_related(session: AsyncSession, actor: str, side: Relation) -> int:
    mine, _ = _SIDES[side]
    stmt = select(func.count()).where(mine == actor, Follow.state == ACCEPTED)
    return int(await session.scalar(stmt) or 0)


async def followers_page(
    session: AsyncSession, target: str, *, offset: int, limit: int
) -> list[str]:
    return await related_ids_page(session, target, "followers", offset=offset, limit=limit)


async def count_followers(session: AsyncSession, target: str) -> int:
    return await count_related(session, target, "followers")


async def following_page(
    session: AsyncSession, follower: str, *, offset: int, limit: int, accepted_only: bool = True
) -> list[Follow]:
    stmt = select(Follow).where(Follow.follower == follower)
    if accepted_only:
        stmt = stmt.where(Follow.state == ACCEPTED)
    return list(await session.scalars(stmt.order_by(Follow.id).offset(offset).limit(limit)))


async def follower_inboxes(session: AsyncSession, target: str) -> list[str]:
    """Distinct delivery inboxes of a local actor's accepted remote followers."""
    rows = await session.scalars(
        select(Follow.follower_inbox)
        .where(
            Follow.target == target, Follow.state == ACCEPTED, Follow.follower_inbox.is_not(None)
        )
        .distinct()
    )
    return [r for r in rows if r is not None]


async def remove_followers_at(session: AsyncSession, inbox: str) -> int:
    """An inbox answered 410 Gone: its actor (or, for a shared inbox, its server) is gone."""
    owners = select(RemoteActor.ap_id).where(RemoteActor.inbox == inbox)
    result = await session.execute(
        delete(Follow).where(or_(Follow.follower_inbox == inbox, Follow.follower.in_(owners)))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def pending_follows_of(session: AsyncSession, target: str) -> list[Follow]:
    """Follow requests waiting for ``target`` (an actor that approves its followers)."""
    stmt = select(Follow).where(Follow.target == target, Follow.state == PENDING)
    return list(await session.scalars(stmt.order_by(Follow.id)))


async def followed_by_a_local_actor(session: AsyncSession, target: str) -> bool:
    """Whether any actor of this node follows ``target`` (accepted)."""
    return bool(await session.scalar(_FOLLOWED_HERE, {"target": target}))


#: Built once: every remote call that arrives asks it, and building the statement cost more
#: than running it.
_FOLLOWED_HERE = select(
    exists().where(
        Follow.target == bindparam("target"),
        Follow.state == ACCEPTED,
        Follow.follower.in_(select(LocalActor.ap_id)),
    )
)


async def accepted_targets(session: AsyncSession, follower: str) -> list[str]:
    """Whom ``follower`` follows, accepted."""
    stmt = select(Follow.target).where(Follow.follower == follower, Follow.state == ACCEPTED)
    return list(await session.scalars(stmt))


async def follower_ids(session: AsyncSession, target: str) -> list[str]:
    """Everyone whose follow of ``target`` is accepted."""
    stmt = select(Follow.follower).where(Follow.target == target, Follow.state == ACCEPTED)
    return list(await session.scalars(stmt))


async def followers_with_state(session: AsyncSession, target: str) -> list[tuple[str, str]]:
    """Every follower of ``target`` with the state of its follow, in the order they asked."""
    rows = await session.execute(
        select(Follow.follower, Follow.state).where(Follow.target == target).order_by(Follow.id)
    )
    return [(str(f), str(s)) for f, s in rows]


async def followed_by_a_local_campaign(session: AsyncSession, target: str) -> bool:
    """Whether one of this node's campaigns follows ``target`` (accepted): whose rollups count."""
    campaigns = select(LocalActor.ap_id).where(LocalActor.kind == ActorKind.CAMPAIGN)
    stmt = select(
        exists().where(
            Follow.target == target, Follow.state == ACCEPTED, Follow.follower.in_(campaigns)
        )
    )
    return bool(await session.scalar(stmt))
