"""Who receives what a group actor publishes: its followers, plus followers of the node's
instance actor (relays and Mobilizon admins who follow ``relay@host``), plus, for a change to
an object, the inboxes of those the object concerns (a call's participants may follow nobody
here, yet they must hear that it moved or was cancelled)."""

from __future__ import annotations

from collections.abc import Iterable

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


async def change_audience(
    session: AsyncSession, services: Services, actor: LocalActor, concerned: Iterable[str]
) -> set[str]:
    """The followers' inboxes and the ``concerned`` inboxes (the features say whom a change
    concerns), each once: a node that both follows and takes part gets one copy."""
    inboxes = await follower_inboxes(session, services, actor)
    inboxes.update(concerned)
    return inboxes
