"""RSVPs: Join/Leave for our calls (admitted, waitlisted or refused), and Accept/Reject
answering our members' Joins."""

from __future__ import annotations

import logging

from node.features.actors.names import remote_person
from node.features.calls.answers import tell_member
from node.features.calls.lifecycle import call_from_row
from node.features.calls.participation import join_local_call, leave_local_call
from node.features.calls.places import answer_data
from node.features.calls.rsvp import ended_reason
from node.features.notifications.kinds import Kind
from node.features.notifications.notify import notify
from node.federation.outbox.publish import publish
from node.interfaces.activitypub.handlers.context import HandlerContext
from node.runtime.services import INSTANCE_ACTOR
from protocol.activities import Activity, build_accept, build_reject
from protocol.jsonld import id_of
from protocol.slots import JOIN_SLOT
from protocol.vocabulary import has_type
from storage.models import Commitment, LocalActor
from storage.models.states import CommitmentState
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo

log = logging.getLogger(__name__)


def _named_slot(activity: Activity) -> str | None:
    """The slot a Join names (``chapterhouse:slot``: a slot id, or an object with one); a
    value that names none is passed on as text, so the Join is refused as naming no slot."""
    value = activity.raw.get(JOIN_SLOT)
    if value is None:
        return None
    return id_of(value) or str(value)[:200]


async def handle_join(ctx: HandlerContext, activity: Activity) -> None:
    """Admitted: ``Accept``. Full: on the waiting list, with no answer yet (the Join stays
    pending on the joiner's side) but a direct message saying so; the ``Accept`` comes when a
    place frees. Refused: ``Reject`` with the reason."""
    session, services = ctx.session, ctx.services
    joiner = await actor_repo.remote_actor_card(session, activity.actor)
    if joiner is None:
        log.warning("join.unknown_actor", extra={"actor": activity.actor})
        return
    call_id = activity.object_id or ""
    # A Join after the call's end is refused (Reject{Join}) and nothing is stored.
    decision, row, chapter = await join_local_call(
        session,
        services,
        call_id,
        activity.actor,
        activity.id,
        slot=_named_slot(activity),
        ended=ended_reason,
        who=remote_person(joiner).name,
    )
    if chapter is None:
        # Unknown call: answer as the actor its URL names (else the node) so nobody waits.
        chapter = await _owner_by_url(ctx, call_id)
    ctx.queued_deliveries = True
    if decision.waitlisted and row is not None:
        data = answer_data(
            call_from_row(row, services), chapter, decision.slot, position=decision.position
        )
        await notify(
            session,
            services,
            recipient=activity.actor,
            kind=Kind.WAITLISTED,
            key=activity.id,
            data=data,
            call=row.ap_id,
            sender=chapter,
        )
        return
    answer_id = services.activity_id()
    join = dict(activity.raw)
    if decision.accepted:
        answer = build_accept(answer_id, chapter.ap_id, join)
    else:
        answer = build_reject(answer_id, chapter.ap_id, join)
        answer["summary"] = decision.reason
    # The Accept goes out at once; followers learn the new count from a coalesced follow-up.
    await publish(session, services, chapter, answer, [joiner.inbox])
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
        ctx.queued_deliveries = True  # the waiting list's first, promoted: their Accept


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


#: Where a Reject finds a commitment the chapter had taken (a place, or the waiting list):
#: the organisers took it back.
_TAKEN_BACK = frozenset(
    {CommitmentState.ACCEPTED, CommitmentState.REMOVED, CommitmentState.WAITLISTED}
)


async def answer_commitment(ctx: HandlerContext, activity: Activity, row: Commitment) -> None:
    """Accept or Reject of one of our members' Joins. A Reject of a Join the chapter had
    accepted (or waitlisted) is a removal: the organisers took the place back (Mobilizon
    sends the same). An Accept of a waitlisted Join is a promotion: a place freed. The member
    is told of each change (once per answer)."""
    before = row.state
    if activity.type == "Accept":
        row.state = CommitmentState.ACCEPTED
        kind = Kind.PROMOTED if before == CommitmentState.WAITLISTED else Kind.ACCEPTED
    elif before in _TAKEN_BACK:
        row.state, kind = CommitmentState.REMOVED, Kind.REMOVED
    else:
        row.state, kind = CommitmentState.REJECTED, Kind.REJECTED
    summary = activity.raw.get("summary")
    row.reason = summary[:500] if isinstance(summary, str) else None
    row.updated_at = ctx.services.clock.now()
    if row.state != before:
        await tell_member(ctx.session, ctx.services, row, kind, activity.id, reason=row.reason)
