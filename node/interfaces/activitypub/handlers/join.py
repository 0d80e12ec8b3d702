"""RSVPs: Join/Leave for our calls, and Accept/Reject answering our members' Joins."""

from __future__ import annotations

import logging

from node.features.calls.participation import join_local_call, leave_local_call
from node.features.calls.rsvp import refuse_if_ended
from node.federation.outbox.publish import publish
from node.interfaces.activitypub.handlers.context import HandlerContext
from node.runtime.services import INSTANCE_ACTOR
from protocol.activities import Activity, build_accept, build_reject
from protocol.jsonld import id_of
from protocol.vocabulary import has_type
from storage.models import Commitment, LocalActor
from storage.models.states import CommitmentState
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo

log = logging.getLogger(__name__)


async def handle_join(ctx: HandlerContext, activity: Activity) -> None:
    session, services = ctx.session, ctx.services
    joiner = await actor_repo.remote_actor(session, activity.actor)
    if joiner is None:
        log.warning("join.unknown_actor", extra={"actor": activity.actor})
        return
    # A Join after the call's end is refused (Reject{Join}) and nothing is stored.
    decision, _row, chapter = await refuse_if_ended(
        session, services, activity.object_id or ""
    ) or await join_local_call(
        session, services, activity.object_id or "", activity.actor, activity.id
    )
    if chapter is None:
        # Unknown call: answer as the actor its URL names (else the node) so nobody waits.
        chapter = await _owner_by_url(ctx, activity.object_id or "")
    answer_id = services.activity_id()
    join = dict(activity.raw)
    if decision.accepted:
        answer = build_accept(answer_id, chapter.ap_id, join)
    else:
        answer = build_reject(answer_id, chapter.ap_id, join)
        answer["summary"] = decision.reason
    # The Accept goes out at once; followers learn the new count from a coalesced follow-up.
    await publish(session, services, chapter, answer, [joiner.inbox])
    ctx.queued_deliveries = True
    ctx.queued_follow_ups = ctx.queued_follow_ups or decision.accepted


async def _owner_by_url(ctx: HandlerContext, call_id: str) -> LocalActor:
    prefix = ctx.services.ids.url("actors/")
    name = call_id[len(prefix) :].split("/", 1)[0] if call_id.startswith(prefix) else ""
    owner = await actor_repo.local_actor_by_name(ctx.session, name) if name else None
    if owner is None:
        owner = await actor_repo.local_actor_by_name(ctx.session, INSTANCE_ACTOR)
    assert owner is not None
    return owner


async def handle_leave(ctx: HandlerContext, activity: Activity) -> None:
    """Leave{call}, or Undo{Join}: the participant withdraws (only their own place)."""
    call_id = activity.object_id
    if activity.type == "Undo":
        inner = activity.object or {}
        if id_of(inner.get("actor")) != activity.actor:
            return
        call_id = id_of(inner.get("object"))
    if call_id is None:
        return
    if await leave_local_call(ctx.session, ctx.services, call_id, activity.actor):
        ctx.queued_follow_ups = True  # the followers' Update, coalesced (calls/lifecycle.py)


async def commitment_answered(ctx: HandlerContext, activity: Activity) -> Commitment | None:
    """The commitment of one of our members that this Accept/Reject answers, if any.

    Only the chapter that hosts the call may answer.
    """
    inner = activity.object
    join_id = activity.object_id
    if inner is not None and inner.get("type") is not None and not has_type(inner, "Join"):
        return None  # an embedded object that declares types answers a Join only among them
    if join_id is None:
        return None
    row = await action_repo.commitment_by_join(ctx.session, join_id)
    if row is None or row.chapter != activity.actor:
        return None
    if row.state == CommitmentState.LEFT:
        return None  # the member withdrew: a late answer to their Join changes nothing
    return row


async def answer_commitment(ctx: HandlerContext, activity: Activity, row: Commitment) -> None:
    """Accept or Reject of one of our members' Joins. A Reject of a Join the chapter had
    accepted is a removal: the organisers took the place back (Mobilizon sends the same)."""
    if activity.type == "Accept":
        row.state = CommitmentState.ACCEPTED
    elif row.state in (CommitmentState.ACCEPTED, CommitmentState.REMOVED):
        row.state = CommitmentState.REMOVED
    else:
        row.state = CommitmentState.REJECTED
    summary = activity.raw.get("summary")
    row.reason = summary[:500] if isinstance(summary, str) else None
    row.updated_at = ctx.services.clock.now()
