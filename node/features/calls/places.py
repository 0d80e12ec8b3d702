"""Places in our calls: who gets one, which slot, and who gets the next one that frees.

A call holds ``maximumAttendeeCapacity`` places in all and, when it is split into slots
(``protocol/slots.py``), each slot holds its own capacity. Only accepted participants hold a
place; a Join that finds no room waits, in arrival (``id``) order, for the slot it named or for
any slot when it named none. Every decision is made under the call's row lock (the caller's
unit of work took it: ``participation.py``), counting the places held at that moment, so any
number of Joins racing from any number of nodes never fill more places than there are.

When a place frees (a Leave, an organiser's removal, a capacity raised by an edit), the first
waiting participant that fits is promoted at once: their place is accepted, their node gets
``Accept{Join}`` (their original Join embedded, so it needs no fetch), a member of this node
sees their commitment accepted, and they are told (``Kind.PROMOTED``; a direct message for
someone elsewhere, since a Mastodon user's app shows no ``Accept{Join}``). The chapter's
organisers hear of every new accepted participant (``Kind.NEW_PARTICIPANT``).

This module imports nothing of ``lifecycle`` (which uses it to recount a call's document).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.names import display_names
from node.features.notifications.kinds import Kind
from node.features.notifications.notify import notify, notify_members
from node.features.notifications.wording import call_facts
from node.federation.outbox.publish import publish
from node.runtime.services import Services
from protocol.activities import build_accept
from protocol.events import ActionCall
from protocol.slots import Slot
from storage.models import ActionCall as CallRow
from storage.models import LocalActor, Participant
from storage.models.states import CommitmentState, PlaceState
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo
from storage.repositories import places as places_repo


def slot_by_id(call: ActionCall, slot_id: str | None) -> Slot | None:
    if slot_id is None:
        return None
    return next((s for s in call.slots if s.id == slot_id), None)


def find_slot(call: ActionCall, wanted: str) -> Slot | None:
    """The slot a person names: by its id, or by its role name (ignoring case), or by its
    number (``2`` for ``#slot-2``); None when the call has no such slot."""
    text = wanted.strip()
    found = slot_by_id(call, text)
    if found is not None:
        return found
    folded = text.casefold()
    named = [s for s in call.slots if s.name.casefold() == folded]
    if len(named) == 1:
        return named[0]
    if text.isdigit():
        return slot_by_id(call, f"{call.id}#slot-{int(text)}")
    return None


def _room(call: ActionCall, total: int) -> bool:
    return call.capacity is None or total < call.capacity


def _free_slot(
    call: ActionCall, per_slot: Mapping[str | None, int], wanted: str | None
) -> Slot | None:
    """The slot a participant can have now: the one they want if it has room, else (wanting
    none, or one the organisers have since removed) the first with room; None when none has."""
    candidates = [s for s in call.slots if s.id == wanted] or call.slots
    return next((s for s in candidates if per_slot.get(s.id, 0) < s.capacity), None)


def placement(
    call: ActionCall, total: int, per_slot: Mapping[str | None, int], wanted: str | None
) -> tuple[PlaceState, str | None]:
    """Where a new participant goes: (accepted, the slot taken) or (waitlisted, the slot they
    wait for, None for any). ``wanted`` is a slot id of ``call`` (checked by the caller)."""
    if not call.slots:
        return (PlaceState.ACCEPTED if _room(call, total) else PlaceState.WAITLISTED), None
    slot = _free_slot(call, per_slot, wanted) if _room(call, total) else None
    if slot is None:
        return PlaceState.WAITLISTED, wanted
    return PlaceState.ACCEPTED, slot.id


async def counted(session: AsyncSession, row: CallRow, call: ActionCall) -> ActionCall:
    """``call`` with the places held now: its ``participantCount`` and each slot's ``taken``."""
    return with_counts(call, *await places_repo.accepted_counts(session, row.id))


def with_counts(call: ActionCall, total: int, per_slot: Mapping[str | None, int]) -> ActionCall:
    """``call`` with ``total`` places held, and each slot's ``taken`` from ``per_slot``."""
    slots = tuple(dataclasses.replace(s, taken=per_slot.get(s.id, 0)) for s in call.slots)
    return dataclasses.replace(call, participant_count=total, slots=slots)


def answer_data(
    call: ActionCall, chapter: LocalActor, slot: str | None, **extra: Any
) -> dict[str, Any]:
    """What a notification about a place in ``call`` keeps: the call's facts and the slot's
    role name (and ``extra``, e.g. the waiting-list position)."""
    data = call_facts(call, chapter.title or chapter.name)
    named = slot_by_id(call, slot)
    if named is not None:
        data["slot"] = named.name
        data["slot_id"] = named.id
    data.update({k: v for k, v in extra.items() if v is not None})
    return data


async def tell_organisers(
    session: AsyncSession,
    services: Services,
    chapter: LocalActor,
    call: ActionCall,
    place: Participant,
    *,
    who: str | None = None,
) -> None:
    """The chapter's organisers hear of a new accepted participant (not of themselves): one
    query for the organisers, one statement for their notifications. ``who``: the
    participant's display name when the caller has it (else it is looked up)."""
    organisers = [o for o in await _organisers(session, chapter) if o.ap_id != place.actor]
    if not organisers:
        return
    if who is None:
        who = (await display_names(session, [place.actor]))[place.actor].name
    await notify_members(
        session,
        services,
        organisers,
        kind=Kind.NEW_PARTICIPANT,
        key=f"{call.id} {place.join_activity_id}",
        data=answer_data(call, chapter, place.slot, who=who),
        call=call.id,
    )


async def _organisers(session: AsyncSession, chapter: LocalActor) -> list[places_repo.Organiser]:
    """The chapter's organisers, read once per transaction (a burst of Joins tells the same
    people; no handler of a batch changes a chapter's memberships). Kept in the session's
    ``info`` with the transaction it was read in, so a rolled-back one's copy is never used."""
    memo = session.sync_session.info
    transaction = session.sync_session.get_transaction()
    known = memo.get((_ORGANISERS, chapter.id))
    if known is not None and known[0] is transaction:
        return known[1]  # type: ignore[no-any-return]
    organisers = await places_repo.organisers_to_tell(session, chapter.id)
    memo[(_ORGANISERS, chapter.id)] = (transaction, organisers)
    return organisers


#: Where ``_organisers`` keeps a chapter's organisers, in the session's ``info``.
_ORGANISERS: Final = "organisers_of_chapter"


async def promote(
    session: AsyncSession,
    services: Services,
    row: CallRow,
    chapter: LocalActor,
    call: ActionCall,
) -> list[Participant]:
    """Give the places free in ``call`` (as it now stands: capacity and slots) to the waiting
    list, first come first served; a waiting participant whose slot is still full is passed
    over for one behind who fits elsewhere. A cancelled or ended call promotes nobody (its
    restoration does). The caller holds the call's lock, recounts the document
    (``refresh_participation``) and wakes the delivery worker after the commit."""
    if call.cancelled or call.end <= services.clock.now():
        return []
    total, per_slot = await places_repo.accepted_counts(session, row.id)
    promoted: list[Participant] = []
    for place in await places_repo.waitlisted(session, row.id):
        if not _room(call, total):
            break
        slot = _free_slot(call, per_slot, place.slot) if call.slots else None
        if call.slots and slot is None:
            continue
        place.state = PlaceState.ACCEPTED
        place.slot = slot.id if slot is not None else None
        total += 1
        per_slot[place.slot] = per_slot.get(place.slot, 0) + 1
        promoted.append(place)
    await session.flush()
    for place in promoted:
        await _tell_promoted(session, services, row, chapter, call, place)
        await tell_organisers(session, services, chapter, call, place)
    return promoted


async def _tell_promoted(
    session: AsyncSession,
    services: Services,
    row: CallRow,
    chapter: LocalActor,
    call: ActionCall,
    place: Participant,
) -> None:
    now = services.clock.now()
    member = await actor_repo.local_actor_by_ap_id(session, place.actor)
    if member is not None:
        commitment = await action_repo.commitment(session, member.id, row.ap_id)
        if commitment is not None:
            commitment.state = CommitmentState.ACCEPTED
            commitment.reason = None
            commitment.updated_at = now
    else:
        remote = await actor_repo.remote_actor(session, place.actor)
        if remote is None or remote.gone_at is not None:
            return  # nobody left to tell
        join = {
            "id": place.join_activity_id,
            "type": "Join",
            "actor": place.actor,
            "object": row.ap_id,
        }
        accept = build_accept(services.activity_id(), chapter.ap_id, join)
        await publish(session, services, chapter, accept, [remote.inbox])
    await notify(
        session,
        services,
        recipient=place.actor,
        kind=Kind.PROMOTED,
        key=place.join_activity_id,
        data=answer_data(call, chapter, place.slot),
        call=row.ap_id,
        sender=chapter,
    )
