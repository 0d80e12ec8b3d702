"""Belonging to a local chapter: the member follows it, accepted at once.

Apart from ``follow`` (which resolves remote actors, publishes activities and tells organisers)
because creating a member needs only this: ``node.features.actors.local``, which every command
line run imports to open its services, would otherwise pull in the resolver, the notifications
and the rest of the following tree behind them.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from node.runtime.services import Services
from storage.models import LocalActor
from storage.models.follow import ACCEPTED
from storage.repositories import follows as follow_repo


async def follow_home(
    session: AsyncSession, services: Services, member: LocalActor, chapter: str
) -> None:
    """``member`` now belongs to the local chapter ``chapter`` (an actor id): they follow it, in
    the caller's transaction, accepted at once. Both are local, so no activity travels, and
    belonging is the approval a chapter that approves followers by hand would give."""
    existing = await follow_repo.follow_between(session, member.ap_id, chapter)
    if existing is not None and existing.state == ACCEPTED:
        return
    await follow_repo.put_follow(
        session,
        activity_id=services.activity_id(),
        follower=member.ap_id,
        target=chapter,
        follower_inbox=None,
        state=ACCEPTED,
        now=services.clock.now(),
    )
