"""Follow, Accept, Reject and Undo: the follow relationship from both sides."""

from __future__ import annotations

import logging

from node.features.following.approval import follow_back, send_accept
from node.features.notifications.organisers import tell_follower_waiting
from node.interfaces.activitypub.handlers.backfill import backfill_follow_up
from node.interfaces.activitypub.handlers.context import HandlerContext
from node.interfaces.activitypub.handlers.join import (
    answer_commitment,
    commitment_answered,
    handle_leave,
)
from protocol.activities import Activity
from protocol.jsonld import id_of
from protocol.vocabulary import has_type
from storage.models import Follow
from storage.models.follow import ACCEPTED, PENDING, REJECTED
from storage.models.states import ActorKind
from storage.repositories import actors as actor_repo
from storage.repositories import follows as follow_repo

log = logging.getLogger(__name__)


async def handle_follow(ctx: HandlerContext, activity: Activity) -> None:
    """A remote actor asks to follow a local one: accept, or keep pending for approval."""
    session, services = ctx.session, ctx.services
    target = await actor_repo.local_actor_by_ap_id(session, activity.object_id or "")
    if target is None:
        log.info("follow.unknown_target", extra={"activity_id": activity.id})
        return
    follower = await actor_repo.remote_actor(session, activity.actor)
    if follower is None:  # verified signatures always cache the signer; be defensive anyway
        log.warning("follow.unknown_follower", extra={"actor": activity.actor})
        return
    existing = await follow_repo.follow_between(session, activity.actor, target.ap_id)
    waiting = existing is not None and existing.state == PENDING  # the organisers were told
    if existing is not None and existing.state == ACCEPTED:
        state = ACCEPTED  # a repeated Follow is answered again, never downgraded
    else:
        state = PENDING if target.manually_approves_followers else ACCEPTED
    await follow_repo.put_follow(
        session,
        activity_id=activity.id,
        follower=activity.actor,
        target=target.ap_id,
        follower_inbox=follower.shared_inbox or follower.inbox,
        state=state,
        now=services.clock.now(),
    )
    if state == PENDING and not waiting:  # the organisers approve it: tell them
        await tell_follower_waiting(session, services, target, activity.actor, key=activity.id)
    if state == ACCEPTED:
        await send_accept(session, services, target, dict(activity.raw), follower.inbox)
        ctx.queued_deliveries = True
        if target.kind == ActorKind.CAMPAIGN and follower.actor_type == "Group":
            await follow_back(session, services, target, follower.ap_id, follower.inbox)


def _embedded_follow(activity: Activity) -> tuple[str | None, str | None, str | None]:
    """(follow id, follower, followed) of the Follow that an Accept/Reject/Undo refers to."""
    if activity.object is None:
        return activity.object_id, None, None
    obj = activity.object
    if not has_type(obj, "Follow"):
        return None, None, None
    return id_of(obj), id_of(obj.get("actor")), id_of(obj.get("object"))


async def _our_follow_of(ctx: HandlerContext, activity: Activity) -> Follow | None:
    """The follow by one of our actors that the remote ``activity.actor`` answers."""
    follow_id, follower, followed = _embedded_follow(activity)
    row = None
    if follow_id is not None:
        row = await follow_repo.follow_by_activity(ctx.session, follow_id)
    if row is None and follower is not None:
        row = await follow_repo.follow_between(ctx.session, follower, activity.actor)
    # Only the followed actor may answer; the follower must be ours.
    if row is None or row.target != activity.actor:
        return None
    if followed is not None and followed != activity.actor:
        return None
    if await actor_repo.local_actor_by_ap_id(ctx.session, row.follower) is None:
        return None
    return row


async def handle_accept(ctx: HandlerContext, activity: Activity) -> None:
    await _answer(ctx, activity, ACCEPTED)


async def handle_reject(ctx: HandlerContext, activity: Activity) -> None:
    await _answer(ctx, activity, REJECTED)


async def _answer(ctx: HandlerContext, activity: Activity, state: str) -> None:
    """Accept or Reject: of one of our members' RSVPs, or of one of our actors' follows."""
    commitment = await commitment_answered(ctx, activity)
    if commitment is not None:
        await answer_commitment(ctx, activity, commitment)
        return
    row = await _our_follow_of(ctx, activity)
    if row is None:
        log.info("%s.unmatched", activity.type.lower(), extra={"activity_id": activity.id})
        return
    row.state = state
    row.updated_at = ctx.services.clock.now()
    if state == ACCEPTED:  # read the chapter's outbox: a durable follow-up
        await ctx.follow_up(backfill_follow_up(activity.actor, row.activity_id))


async def handle_undo(ctx: HandlerContext, activity: Activity) -> None:
    """Undo{Follow}: the remote follower withdraws; only its own follow can be undone."""
    if has_type(activity.object, "Join"):
        await handle_leave(ctx, activity)
        return
    follow_id, follower, followed = _embedded_follow(activity)
    if activity.object is not None and not has_type(activity.object, "Follow"):
        log.info("undo.ignored", extra={"activity_id": activity.id})
        return
    row = None
    if follow_id is not None:
        row = await follow_repo.follow_by_activity(ctx.session, follow_id)
    if row is None and followed is not None:
        row = await follow_repo.follow_between(ctx.session, activity.actor, followed)
    if row is None or row.follower != activity.actor:
        log.info("undo.unmatched", extra={"activity_id": activity.id})
        return
    if follower is not None and follower != activity.actor:
        return
    await follow_repo.remove_follow(ctx.session, row.follower, row.target)
