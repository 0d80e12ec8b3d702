"""Taking a vote on a call's RSVP poll: the same rules as a ``Join``, answered by a direct
message (Mastodon understands no ``Accept{Join}``).

- "Going" is a ``Join`` by the voter under the call's capacity and waiting-list rules
  (``participation.join_local_call``); the vote is kept when it gained a place or a spot on
  the waiting list, and not when it was refused (full with no waiting list, cancelled, banned).
- "Can't make it" is kept; a voter who held a place gives it up (``leave_local_call``), which
  is how a changed vote counts as a ``Leave``.
- The same vote delivered again, or the same answer given again, changes nothing and tells
  nobody twice (the notification is keyed by the vote's Note).

Whether a Note is a vote on an open poll of ours is for the caller (the inbox handler) to
decide first; nothing here is stored for votes it ignores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.calls.lifecycle import call_from_row
from node.features.calls.participation import join_local_call, leave_local_call
from node.features.calls.poll_updates import schedule_poll_update
from node.features.notifications.kinds import Kind
from node.features.notifications.notify import notify
from node.features.notifications.wording import call_facts
from node.runtime.services import Services
from protocol.events import ActionCall
from protocol.polls import GOING, Vote
from storage.models import ActionCall as CallRow
from storage.models import LocalActor
from storage.repositories import actions as action_repo
from storage.repositories import polls as poll_repo

ACCEPTED: Final = "accepted"
WAITLISTED: Final = "waitlisted"
REJECTED: Final = "rejected"
#: What a vote did, besides its RSVP state: the same vote again, or the same answer again.
DUPLICATE: Final = "duplicate"
UNCHANGED: Final = "unchanged"
#: "Can't make it", recorded (and a place given up, if the voter held one).
DECLINED: Final = "declined"
#: The answer each outcome sends (what the voter's app shows as a private mention).
ANSWER: Final = {ACCEPTED: Kind.ACCEPTED, WAITLISTED: Kind.WAITLISTED, REJECTED: Kind.REJECTED}


@dataclass(frozen=True, slots=True)
class VoteResult:
    outcome: str
    #: Whether the vote changed what followers see (the poll's counts, the call's count).
    changed: bool = False


def _state(decision: Any) -> str:
    """The RSVP state of a ``join_local_call`` decision: ``accepted``, ``waitlisted`` or
    ``rejected`` (a decision without a ``state`` only knows accepted or not)."""
    state = getattr(decision, "state", None)
    if state in ANSWER:
        return str(state)
    return ACCEPTED if decision.accepted else REJECTED


def _details(call: ActionCall, decision: Any) -> dict[str, Any]:
    """What the answer says besides the call: the slot given or waited for (by its role's
    name), the waiting-list position, the reason for a refusal."""
    details: dict[str, Any] = {}
    slot = getattr(decision, "slot", None)
    named = next((s.name for s in call.slots if s.id == slot), None) if slot else None
    if named:
        details["slot"] = named
    position = getattr(decision, "position", None)
    if position:
        details["position"] = position
    if not decision.accepted and decision.reason:
        details["reason"] = decision.reason
    return details


def declined_text(title: str, gave_up_place: bool) -> str:
    text = f"Thanks, noted that you can't make it to {title}."
    if gave_up_place:
        text += " Your place is given back, for someone else to take."
    return text


async def take_vote(
    session: AsyncSession, services: Services, row: CallRow, vote: Vote
) -> VoteResult:
    """Count ``vote`` on the poll of the local call ``row`` (locked by the caller) and answer
    the voter, in the caller's transaction."""
    previous = await poll_repo.vote_of(session, row.id, vote.voter)
    if previous is not None and previous.note_id == vote.note_id:
        return VoteResult(DUPLICATE)
    holds = await action_repo.participant(session, row.id, vote.voter) is not None
    if previous is not None and previous.choice == vote.choice and (vote.choice != GOING or holds):
        return VoteResult(UNCHANGED)
    chapter = await session.get(LocalActor, row.local_actor_id)
    assert chapter is not None
    now = services.clock.now()
    call = call_from_row(row, services)
    data = call_facts(call, chapter.title or chapter.name)
    if vote.choice == GOING:
        decision, _row, _chapter = await join_local_call(
            session, services, row.ap_id, vote.voter, vote.note_id
        )
        outcome = _state(decision)
        if outcome != REJECTED:
            await poll_repo.record_vote(session, row.id, vote.voter, GOING, vote.note_id, now)
        data.update(_details(call, decision))
        kind = ANSWER[outcome]
    else:
        gave_up = holds and await leave_local_call(session, services, row.ap_id, vote.voter)
        await poll_repo.record_vote(session, row.id, vote.voter, vote.choice, vote.note_id, now)
        outcome, kind = DECLINED, Kind.VOTE_COUNTED
        data["text"] = declined_text(str(data["title"]), gave_up)
        data["declined"] = "gave_up" if gave_up else "noted"  # worded in the reader's language
    changed = outcome != REJECTED
    if changed:
        await schedule_poll_update(session, services, row)
    await notify(
        session,
        services,
        recipient=vote.voter,
        kind=kind,
        key=vote.note_id,
        data=data,
        call=row.ap_id,
        sender=chapter,
        in_reply_to=row.poll,
    )
    return VoteResult(outcome, changed=changed)
