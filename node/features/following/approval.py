"""Accepting followers: at once for open chapters, by an organiser's hand for the others.

The inbox accepts a Follow itself when the chapter does not approve followers by hand
(node/interfaces/activitypub/handlers/follow.py); otherwise the Follow waits as pending until an
organiser approves it on the chapter's manage page. Both answer the follower with the same
Accept, built and queued by ``send_accept`` here, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.authz import NotFoundError, Principal, require_organiser
from node.federation.outbox.publish import publish
from node.runtime.services import Services
from protocol.activities import build_accept, build_follow
from protocol.errors import N_
from storage.models import Follow, LocalActor
from storage.models.follow import ACCEPTED, PENDING
from storage.models.states import ActorKind
from storage.repositories import actors as actor_repo
from storage.repositories import follows as follow_repo


async def send_accept(
    session: AsyncSession,
    services: Services,
    target: LocalActor,
    follow: Mapping[str, object],
    inbox: str,
) -> None:
    """Queue ``target``'s Accept of ``follow`` (embedded whole) for the follower's ``inbox``.

    It is queued in ``session``'s transaction; the caller wakes the delivery worker once that
    transaction is committed.
    """
    accept = build_accept(services.activity_id(), target.ap_id, follow)
    await publish(session, services, target, accept, [inbox])


async def follow_back(
    session: AsyncSession, services: Services, campaign: LocalActor, chapter: str, inbox: str
) -> None:
    """A chapter joined the campaign: the campaign follows it, so its adopted calls (which the
    membership rule needs) and its reports reach us."""
    existing = await follow_repo.follow_between(session, campaign.ap_id, chapter)
    if existing is not None and existing.state == ACCEPTED:
        return
    follow_id = services.activity_id()
    await follow_repo.put_follow(
        session,
        activity_id=follow_id,
        follower=campaign.ap_id,
        target=chapter,
        follower_inbox=None,
        state=PENDING,
        now=services.clock.now(),
    )
    await publish(
        session, services, campaign, build_follow(follow_id, campaign.ap_id, chapter), [inbox]
    )


async def pending_requests(services: Services, chapter: LocalActor) -> list[Follow]:
    """The follow requests waiting for an organiser of ``chapter`` to approve them."""
    async with services.db.read() as session:
        return await follow_repo.pending_follows_of(session, chapter.ap_id)


async def approve_follower(
    services: Services, who: Principal, chapter: LocalActor, follower: str
) -> None:
    """An organiser accepts ``follower``'s pending request; a remote follower gets an Accept.

    Raises ``Forbidden`` when ``who`` does not organise the chapter, and ``NotFoundError`` when
    no such request is pending.
    """
    async with services.db.write() as session:
        await require_organiser(session, who, chapter)
        row = await follow_repo.follow_between(session, follower, chapter.ap_id)
        if row is None or row.state != PENDING:
            raise NotFoundError(N_("no such pending follow request"))
        row.state = ACCEPTED
        if row.follower_inbox:
            follow = build_follow(row.activity_id, row.follower, chapter.ap_id)
            await send_accept(session, services, chapter, follow, row.follower_inbox)
            remote = await actor_repo.remote_actor(session, row.follower)
            if chapter.kind == ActorKind.CAMPAIGN and remote and remote.actor_type == "Group":
                await follow_back(session, services, chapter, remote.ap_id, remote.inbox)
    services.wakeups.deliveries.set()
