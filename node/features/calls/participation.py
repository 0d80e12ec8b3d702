"""Taking part in a local call: the rules shared by remote Joins and local RSVPs, and the
organisers taking a place back.

A Join is decided under the call's row lock: admitted while there is room (in the slot it
names, or the first slot with room), else put on the waiting list (``places.py``), which is
served at once whenever a place frees. A change of participants stores the call's new counts
at once; the followers' Update is a coalesced follow-up (``refresh_participation`` in
``recount``), so callers wake the follow-up worker after their commit rather than the
delivery worker. A removal also tells the person removed at once: a ``Reject`` of their Join
to their own inbox (their node then shows the commitment as removed), or, for a member of
this node, their commitment directly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession

from node.features.calls.lifecycle import call_from_row
from node.features.calls.places import (
    answer_data,
    placement,
    promote,
    slot_by_id,
    tell_organisers,
)
from node.features.calls.recount import refresh_participation
from node.features.notifications.kinds import Kind
from node.features.notifications.notify import notify
from node.federation.outbox.publish import publish
from node.runtime.services import Services
from protocol.activities import build_reject
from storage.models import ActionCall as CallRow
from storage.models import LocalActor, Participant
from storage.models.states import CommitmentState, PlaceState
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo
from storage.repositories import places as places_repo

REJECTED: Final = "rejected"


@dataclass(frozen=True, slots=True)
class Decision:
    """How a Join is answered: ``accepted`` (a place, in ``slot`` for a call with slots),
    ``waitlisted`` (number ``position`` on the waiting list for ``slot``, None: any slot) or
    ``rejected`` (``reason`` says why). ``repeated``: the actor already had a place or was
    already waiting, and the Join is answered again with that."""

    state: str
    reason: str | None = None
    slot: str | None = None
    position: int | None = None
    repeated: bool = False

    @property
    def accepted(self) -> bool:
        return self.state == PlaceState.ACCEPTED

    @property
    def waitlisted(self) -> bool:
        return self.state == PlaceState.WAITLISTED

    @classmethod
    def refused(cls, reason: str) -> Decision:
        return cls(REJECTED, reason)


async def _standing(session: AsyncSession, place: Participant, *, repeated: bool) -> Decision:
    """The answer a participant's place gives: accepted, or their waiting-list position."""
    if place.state == PlaceState.WAITLISTED:
        position = await places_repo.waiting_position(session, place)
        return Decision(
            PlaceState.WAITLISTED, slot=place.slot, position=position, repeated=repeated
        )
    return Decision(PlaceState.ACCEPTED, slot=place.slot, repeated=repeated)


async def _locked_call(session: AsyncSession, call_id: str) -> tuple[CallRow, LocalActor] | None:
    """The local call ``call_id``, locked (``for_update``), and its chapter; None when no
    call of ours has that id. The session holds both for the rest of the transaction (its
    identity map holds only weak references), so a burst of Joins in one batch reads them,
    and takes the lock, once: the next Join of the call in the transaction finds the row as
    the last one left it (with its parsed document: ``call_from_row``), still locked."""
    sync = session.sync_session
    transaction = sync.get_transaction()
    held: dict[str, tuple[object, CallRow, LocalActor]] = sync.info.setdefault(_HELD, {})
    known = held.get(call_id)
    if known is not None and known[0] is transaction and sa_inspect(known[1]).persistent:
        return known[1], known[2]
    row = await action_repo.call_by_ap_id(session, call_id, for_update=True)
    if row is None or row.local_actor_id is None:
        return None
    chapter = await session.get(LocalActor, row.local_actor_id)
    assert chapter is not None
    held[call_id] = (transaction, row, chapter)
    return row, chapter


#: Where ``_locked_call`` keeps what it read, in the session's ``info``.
_HELD: Final = "participation_held"


async def join_local_call(
    session: AsyncSession,
    services: Services,
    call_id: str,
    actor: str,
    join_id: str,
    *,
    slot: str | None = None,
    ended: Callable[[datetime], str] | None = None,
    who: str | None = None,
) -> tuple[Decision, CallRow | None, LocalActor | None]:
    """Admit ``actor`` to a call hosted here, or put them on its waiting list when it is full;
    refuse when the call is unknown or cancelled, takes no RSVPs, the chapter banned them, or
    ``slot`` (a slot id) is not one of the call's. Places are counted under the call's row lock
    (``for_update``; SQLite's writes are serial), so racing Joins never overfill it. A repeated
    Join is answered with the place (or waiting-list position) the actor already has, and
    becomes the Join that later answers (a promotion, a removal) refer to.

    ``ended``: refuse a call whose end has passed (by our clock), before anything else, with
    the reason it gives for the end (an inbound Join: nothing is stored). ``who``: the
    actor's display name, when the caller has it (the organisers' notice names them)."""
    locked = await _locked_call(session, call_id)
    if locked is None:
        return Decision.refused(f"no action call {call_id} here"), None, None
    row, chapter = locked
    if ended is not None and row.end_time <= services.clock.now():
        return Decision.refused(ended(row.end_time)), row, chapter
    call = call_from_row(row, services)
    if call.cancelled:
        return Decision.refused("the action call is cancelled"), row, chapter
    if call.join_mode == "external":
        return Decision.refused("this action call takes no RSVPs"), row, chapter
    banned, place_id = await places_repo.join_standing(session, chapter.id, row.id, actor)
    if banned:
        return Decision.refused("the chapter does not admit you to its action calls"), row, chapter
    place = await session.get(Participant, place_id) if place_id is not None else None
    if place is not None:
        place.join_activity_id = join_id
        return await _standing(session, place, repeated=True), row, chapter
    wanted = None
    if slot is not None:
        found = slot_by_id(call, slot)
        if found is None:
            reason = f"{slot} is not one of this action call's slots"
            return Decision.refused(reason), row, chapter
        wanted = found.id
    if call.capacity is None and not call.slots:
        state, taken = PlaceState.ACCEPTED, None  # no limit: nothing to count
    else:
        total, per_slot = await places_repo.accepted_counts(session, row.id)
        state, taken = placement(call, total, per_slot, wanted)
    now = services.clock.now()
    place = await places_repo.insert_place(
        session, row.id, actor, join_id, now, state=state, slot=taken
    )
    if state == PlaceState.ACCEPTED:
        await refresh_participation(session, services, row, chapter, grew=True)
        await tell_organisers(session, services, chapter, call, place, who=who)
    return await _standing(session, place, repeated=False), row, chapter


async def _place_freed(
    session: AsyncSession, services: Services, row: CallRow, chapter: LocalActor
) -> None:
    """A place was given back: the waiting list takes it, and the document is recounted."""
    await promote(session, services, row, chapter, call_from_row(row, services))
    await refresh_participation(session, services, row, chapter)


async def leave_local_call(
    session: AsyncSession, services: Services, call_id: str, actor: str
) -> bool:
    """``actor`` withdraws from a call here (a place, or a waiting-list entry); False when
    they had neither. A place freed goes to the first on the waiting list who fits: the
    caller wakes the delivery and follow-up workers after the commit."""
    row = await action_repo.call_by_ap_id(session, call_id, for_update=True)
    if row is None or row.local_actor_id is None:
        return False
    chapter = await session.get(LocalActor, row.local_actor_id)
    assert chapter is not None
    place = await action_repo.participant(session, row.id, actor)
    if place is None:
        return False
    held = place.state == PlaceState.ACCEPTED
    await action_repo.remove_participant(session, row.id, actor)
    if held:
        await _place_freed(session, services, row, chapter)
    return True


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
    await action_repo.call_by_ap_id(session, row.ap_id, for_update=True)  # as Joins do
    place = await action_repo.participant(session, row.id, actor)
    if place is None:
        return False
    held = place.state == PlaceState.ACCEPTED
    await action_repo.remove_participant(session, row.id, actor)
    if held:
        await _place_freed(session, services, row, chapter)
    now = services.clock.now()
    said = reason or REMOVED_REASON
    member = await actor_repo.local_actor_by_ap_id(session, actor)
    remote = None if member is not None else await actor_repo.remote_actor(session, actor)
    if member is not None:
        commitment = await action_repo.commitment(session, member.id, row.ap_id)
        if commitment is not None:
            commitment.state = CommitmentState.REMOVED
            commitment.reason = said
            commitment.updated_at = now
    elif remote is not None and remote.gone_at is None:
        join = {"id": place.join_activity_id, "type": "Join", "actor": actor, "object": row.ap_id}
        reject = build_reject(services.activity_id(), chapter.ap_id, join)
        reject["summary"] = said
        await publish(session, services, chapter, reject, [remote.inbox])
    # The person hears of it too (a direct message for someone whose app shows no Reject).
    await notify(
        session,
        services,
        recipient=actor,
        kind=Kind.REMOVED,
        key=f"{row.ap_id} {place.join_activity_id}",
        data=answer_data(call_from_row(row, services), chapter, place.slot, reason=said),
        call=row.ap_id,
        sender=chapter,
    )
    return True
