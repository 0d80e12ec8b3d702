"""Taking part in a local call: the rules shared by remote Joins and local RSVPs, and the
organisers taking a place back.

A change of participants stores the call's new count at once; the followers' Update is a
coalesced follow-up (``refresh_participation`` in ``lifecycle``), so callers wake the
follow-up worker after their commit rather than the delivery worker. A removal also tells the
person removed at once: a ``Reject`` of their Join to their own inbox (their node then shows
the commitment as removed), or, for a member of this node, their commitment directly."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.calls.lifecycle import call_from_row, refresh_participation
from node.federation.outbox.publish import publish
from node.runtime.services import Services
from protocol.activities import build_reject
from storage.models import ActionCall as CallRow
from storage.models import LocalActor
from storage.models.states import CommitmentState
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo
from storage.repositories import moderation as moderation_repo


@dataclass(frozen=True, slots=True)
class Decision:
    accepted: bool
    reason: str | None = None


async def join_local_call(
    session: AsyncSession, services: Services, call_id: str, actor: str, join_id: str
) -> tuple[Decision, CallRow | None, LocalActor | None]:
    """Admit ``actor`` to a call hosted here, unless it is unknown, cancelled or full."""
    row = await action_repo.call_by_ap_id(session, call_id, for_update=True)
    if row is None or row.local_actor_id is None:
        return Decision(False, f"no action call {call_id} here"), None, None
    chapter = await session.get(LocalActor, row.local_actor_id)
    assert chapter is not None
    call = call_from_row(row, services)
    if call.cancelled:
        return Decision(False, "the action call is cancelled"), row, chapter
    if call.join_mode == "external":
        return Decision(False, "this action call takes no RSVPs"), row, chapter
    if await moderation_repo.is_banned(session, chapter.id, actor):
        return Decision(False, "the chapter does not admit you to its action calls"), row, chapter
    if await action_repo.participant(session, row.id, actor) is not None:
        return Decision(True), row, chapter  # a repeated Join is answered again
    count = await action_repo.count_participants(session, row.id)
    if call.capacity is not None and count >= call.capacity:
        return Decision(False, "the action call is full"), row, chapter
    await action_repo.add_participant(session, row.id, actor, join_id, services.clock.now())
    await refresh_participation(session, services, row, chapter)
    return Decision(True), row, chapter


async def leave_local_call(
    session: AsyncSession, services: Services, call_id: str, actor: str
) -> bool:
    row = await action_repo.call_by_ap_id(session, call_id, for_update=True)
    if row is None or row.local_actor_id is None:
        return False
    chapter = await session.get(LocalActor, row.local_actor_id)
    assert chapter is not None
    removed = await action_repo.remove_participant(session, row.id, actor)
    if removed:
        await refresh_participation(session, services, row, chapter)
    return removed


#: What a removed participant's app shows when the organisers give no reason.
REMOVED_REASON = "the organisers removed you from this action call"


async def remove_participant(
    session: AsyncSession,
    services: Services,
    row: CallRow,
    chapter: LocalActor,
    actor: str,
    reason: str | None = None,
) -> bool:
    """Organisers take back ``actor``'s place in the call ``row``; False if they had none.

    The participant is told in the same transaction: a member of this node sees their
    commitment as ``removed``; anyone else's node gets ``Reject{Join}`` (their own Join,
    embedded, so it needs no fetch), which Chapterhouse and Mobilizon show as a removal.
    The caller wakes the delivery and follow-up workers after the commit."""
    place = await action_repo.participant(session, row.id, actor)
    if place is None:
        return False
    await action_repo.remove_participant(session, row.id, actor)
    await refresh_participation(session, services, row, chapter)
    now = services.clock.now()
    member = await actor_repo.local_actor_by_ap_id(session, actor)
    if member is not None:
        commitment = await action_repo.commitment(session, member.id, row.ap_id)
        if commitment is not None:
            commitment.state = CommitmentState.REMOVED
            commitment.reason = reason or REMOVED_REASON
            commitment.updated_at = now
        return True
    remote = await actor_repo.remote_actor(session, actor)
    if remote is None or remote.gone_at is not None:
        return True  # nobody left to tell
    join = {"id": place.join_activity_id, "type": "Join", "actor": actor, "object": row.ap_id}
    reject = build_reject(services.activity_id(), chapter.ap_id, join)
    reject["summary"] = reason or REMOVED_REASON
    await publish(session, services, chapter, reject, [remote.inbox])
    return True
