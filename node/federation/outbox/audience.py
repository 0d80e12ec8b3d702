"""Who receives what a group actor publishes: its followers, plus followers of the node's
instance actor (relays and Mobilizon admins who follow ``relay@host``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from node.runtime.services import INSTANCE_ACTOR, Services
from storage.models import LocalActor
from storage.models.states import GROUP_KINDS
from storage.repositories import follows as follow_repo


async def follower_inboxes(
    session: AsyncSession, services: Services, actor: LocalActor, *, include_relay: bool = True
) -> set[str]:
    """Distinct delivery inboxes (shared where offered) of an actor's remote followers."""
    inboxes = set(await follow_repo.follower_inboxes(session, actor.ap_id))
    if include_relay and actor.kind in GROUP_KINDS:
        relay_id = services.ids.actor(INSTANCE_ACTOR)
        inboxes.update(await follow_repo.follower_inboxes(session, relay_id))
    return inboxes
