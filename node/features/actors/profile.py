"""What an actor's public page shows: its calls, its followers, and the viewer's follow.

The calls come as stored JSON text, not parsed: the page keeps a cache of parsed calls keyed by
that text (node/interfaces/web/call_cache.py), which is cheaper than parsing each call here on
every view of a busy chapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from node.features.actors.authz import Principal
from node.runtime.services import Services
from storage.models import LocalActor
from storage.repositories import actions as action_repo
from storage.repositories import follows as follow_repo


@dataclass(frozen=True, slots=True)
class ActorOverview:
    calls: list[tuple[str, str]]  # (call id, stored JSON text): upcoming first, then past
    followers: int
    following_state: str | None  # the viewer's follow of this actor, if any


async def actor_overview(
    services: Services, actor: LocalActor, viewer: Principal | None, now: datetime
) -> ActorOverview:
    """The actor's calls around ``now``, follower count, and whether ``viewer`` follows it."""
    async with services.db.read() as session:
        upcoming = await action_repo.upcoming_call_documents(session, actor.ap_id, now)
        past = await action_repo.past_call_documents(session, actor.ap_id, now)
        followers = await follow_repo.count_followers(session, actor.ap_id)
        state = None
        if viewer is not None:
            row = await follow_repo.follow_between(session, viewer.actor.ap_id, actor.ap_id)
            state = row.state if row else None
    return ActorOverview([*upcoming, *past], followers, state)


async def node_upcoming_calls(
    services: Services, now: datetime, *, limit: int = 10
) -> list[tuple[str, str]]:
    """The node's next calls across its chapters and campaigns, soonest first (cancelled ones
    left out): the front page's list, as (call id, stored JSON text) like ``calls`` above."""
    async with services.db.read() as session:
        return await action_repo.upcoming_local_call_documents(session, now, limit=limit)
