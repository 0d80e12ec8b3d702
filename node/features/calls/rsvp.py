"""A member commits to an action call, here or on another node, or withdraws."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.authz import NotFoundError, Principal
from node.features.calls.commitments import CommitmentView, commitment_views
from node.features.calls.lifecycle import call_from_row
from node.features.calls.participation import Decision, join_local_call, leave_local_call
from node.features.calls.places import answer_data, find_slot
from node.features.calls.remote import new_remote_call_values
from node.features.notifications.kinds import Kind
from node.features.notifications.notify import notify
from node.federation.outbox.publish import publish
from node.federation.resolver import ResolveError
from node.federation.transport import FetchError
from node.runtime.services import Services
from protocol.activities import build_join, build_leave
from protocol.errors import N_, MalformedDocument, ProtocolError, WordedError
from protocol.events import ActionCall, document_zone, parse_event
from protocol.ids import parse_id, same_origin
from protocol.localtime import Moment
from protocol.slots import JOIN_SLOT
from protocol.timefmt import format_xsd_datetime
from storage.models import ActionCall as CallRow
from storage.models import Commitment, LocalActor
from storage.models.states import CommitmentState, PlaceState
from storage.repositories import actions as action_repo


class RsvpError(WordedError):
    """The RSVP cannot be made; the message says why (worded with its data, so the page or the
    CLI says it in its reader's language: ``protocol.errors.WordedError``)."""


class CallEnded(RsvpError):
    """The call's end has passed, so it takes no more RSVPs (HTTP 409: the call's state, not
    the request, is what stands in the way)."""

    def __init__(self, call_id: str, end: datetime, zone: str | None = None) -> None:
        super().__init__(
            N_("{call} ended at {end}: it takes no more RSVPs"),
            call=call_id,
            end=Moment(end, zone),
        )
        self.call_id = call_id
        self.end = end


def ended_reason(end: datetime) -> str:
    """The words of the ``Reject`` answering a Join that came after the call's end."""
    return f"the action call ended at {format_xsd_datetime(end)}: it takes no more RSVPs"


async def refuse_if_ended(
    session: AsyncSession, services: Services, call_id: str
) -> tuple[Decision, CallRow, LocalActor] | None:
    """The refusal of a Join for one of our calls whose end has passed (by the node's clock),
    or ``None`` when the Join is to be decided as usual. Nothing is stored for a refused Join."""
    row = await action_repo.call_by_ap_id(session, call_id)
    if row is None or row.local_actor_id is None or row.end_time > services.clock.now():
        return None
    chapter = await session.get(LocalActor, row.local_actor_id)
    if chapter is None:
        return None
    return Decision.refused(ended_reason(row.end_time)), row, chapter


@dataclass(frozen=True, slots=True)
class RsvpResult:
    """The answer so far: ``slot`` is the slot taken (or waited for, or asked of another
    node's chapter), ``position`` the place on a waiting list here."""

    call: str
    state: str
    reason: str | None = None
    slot: str | None = None
    position: int | None = None


async def call_chapter(
    services: Services, call_id: str
) -> tuple[str, datetime, Mapping[str, object] | None]:
    """The chapter hosting a call and the call's end, from our copy or else fetched from the
    call's origin (then with the fetched document, which the RSVP keeps as our copy)."""
    async with services.db.read() as session:
        row = await action_repo.call_by_ap_id(session, call_id)
    if row is not None:
        return row.chapter, row.end_time, None
    signer = await services.fetch_signer()
    try:
        fetched = await services.transport.get_json(call_id, signer=signer)
        call = parse_event(fetched.document, allow_http=services.settings.allow_http)
    except (FetchError, ProtocolError) as exc:
        raise RsvpError(
            N_("cannot load action call {call}: {reason}"), call=call_id, reason=str(exc)
        ) from exc
    if call.id != call_id:
        raise RsvpError(N_("{call} serves a different call ({other})"), call=call_id, other=call.id)
    document = fetched.document  # an Event (parse_event read it): a JSON object
    return call.chapter, call.end, document if isinstance(document, Mapping) else None


def _slot_of(call: ActionCall, wanted: str) -> str:
    """The id of the slot a member names (its id, role name or number) in one of our calls."""
    found = find_slot(call, wanted)
    if found is not None:
        return found.id
    if not call.slots:
        raise RsvpError(N_("slot: {title} is not split into slots"), title=call.title)
    names = ", ".join(s.name for s in call.slots)
    raise RsvpError(
        N_("slot: {title} has no slot {wanted!r} (its slots: {names})"),
        title=call.title,
        wanted=wanted,
        names=names,
    )


def _asked_slot(call: ActionCall | None, call_id: str, wanted: str) -> str:
    """The slot id a Join to another node's call names: found in our copy of the call, or a
    slot id of that call as given (our copy may predate it; its chapter decides)."""
    found = find_slot(call, wanted) if call is not None else None
    if found is not None:
        return found.id
    if wanted.strip().startswith(f"{call_id}#"):
        return wanted.strip()
    if call is None:
        raise RsvpError(N_("slot: give the slot's id ({call}#slot-N)"), call=call_id)
    return _slot_of(call, wanted)  # raises: not among the slots we know


#: A member who holds a place, or waits for one, RSVPing again: nothing is sent again.
_DECIDED: Final = frozenset({CommitmentState.ACCEPTED, CommitmentState.WAITLISTED})
#: A decision here, as the member's commitment records it and the notification tells it.
_ANSWERS: Final[dict[str, tuple[CommitmentState, Kind]]] = {
    PlaceState.ACCEPTED: (CommitmentState.ACCEPTED, Kind.ACCEPTED),
    PlaceState.WAITLISTED: (CommitmentState.WAITLISTED, Kind.WAITLISTED),
}


async def rsvp(
    services: Services, who: Principal, call_url: str, slot: str | None = None
) -> RsvpResult:
    """Join a call: decided at once for calls here, by the hosting chapter otherwise.

    ``slot`` names a slot of a call split into slots (its id, role name or number); without
    one, the call's first slot with room is taken. A call here that is full puts the member
    on its waiting list (``waitlisted``). A call whose end has passed (by this node's clock)
    raises ``CallEnded`` and stores nothing; the hosting node refuses such a Join too
    (``refuse_if_ended``), whatever our clock says.
    """
    try:
        call_id = parse_id(call_url.strip(), allow_http=services.settings.allow_http)
    except MalformedDocument as exc:
        raise RsvpError(N_("call: {reason}"), reason=str(exc)) from exc
    member = who.actor
    now = services.clock.now()
    join_id = services.activity_id()
    if same_origin(call_id, services.settings.base_url):
        return await _rsvp_here(services, member, call_id, join_id, slot)
    chapter_id, end, fetched = await call_chapter(services, call_id)
    if end <= now:
        raise CallEnded(call_id, end, document_zone(fetched))
    asked = None
    if slot is not None:
        asked = _asked_slot(await _copy_of(services, call_id, fetched), call_id, slot)
    try:
        chapter = await services.resolver.actor(chapter_id)
    except ResolveError as exc:
        raise RsvpError(exc.wording or str(exc), **exc.params) from exc
    async with services.db.write() as session:
        existing = await action_repo.commitment(session, member.id, call_id)
        if existing is not None and existing.state in _DECIDED:
            return RsvpResult(call_id, existing.state)  # the chapter keeps its answer
        await record_commitment(
            session, member.id, call_id, chapter.id, join_id, CommitmentState.PENDING, None, now
        )
        if fetched is not None:
            # Our copy of the call: its chapter's Updates keep it current (a new time, a
            # cancellation) for the member, whether or not anyone here follows the chapter.
            copy = parse_event(fetched, allow_http=services.settings.allow_http)
            await action_repo.add_call_if_absent(
                session, new_remote_call_values(copy, fetched, now)
            )
        join = build_join(join_id, member.ap_id, call_id, chapter.id)
        if asked is not None:
            join[JOIN_SLOT] = asked
        await publish(session, services, member, join, [chapter.inbox])
    services.wakeups.deliveries.set()
    return RsvpResult(call_id, CommitmentState.PENDING, slot=asked)


async def _copy_of(
    services: Services, call_id: str, fetched: Mapping[str, object] | None
) -> ActionCall | None:
    """Our copy of another node's call (fetched just now, or stored), None if unreadable."""
    document: object = fetched
    if document is None:
        async with services.db.read() as session:
            row = await action_repo.call_by_ap_id(session, call_id)
        document = row.document if row is not None else None
    try:
        return parse_event(document, allow_http=services.settings.allow_http)
    except ProtocolError:
        return None


async def _rsvp_here(
    services: Services, member: LocalActor, call_id: str, join_id: str, slot: str | None
) -> RsvpResult:
    """An RSVP to a call of this node: decided at once, and the member told of the answer."""
    now = services.clock.now()
    async with services.db.write() as session:
        known = await action_repo.call_by_ap_id(session, call_id)
        if known is not None and known.end_time <= now:
            raise CallEnded(call_id, known.end_time, document_zone(known.document))
        wanted = None
        if slot is not None and known is not None:
            wanted = _slot_of(call_from_row(known, services), slot)
        decision, row, chapter = await join_local_call(
            session, services, call_id, member.ap_id, join_id, slot=wanted
        )
        if row is None or chapter is None:
            raise NotFoundError(N_("no action call {id} on this node"), id=call_id)
        state, kind = _ANSWERS.get(decision.state, (CommitmentState.REJECTED, Kind.REJECTED))
        await record_commitment(
            session, member.id, call_id, row.chapter, join_id, state, decision.reason, now
        )
        if not decision.repeated:  # asking again is answered, not announced again
            call = call_from_row(row, services)
            data = answer_data(
                call, chapter, decision.slot, position=decision.position, reason=decision.reason
            )
            await notify(
                session,
                services,
                recipient=member.ap_id,
                kind=kind,
                key=join_id,
                data=data,
                call=call_id,
                sender=chapter,
            )
    services.wakeups.deliveries.set()
    services.wakeups.follow_ups.set()
    return RsvpResult(call_id, state, decision.reason, decision.slot, decision.position)


async def record_commitment(
    session: AsyncSession,
    member_id: int,
    call: str,
    chapter: str,
    join_id: str,
    state: str,
    reason: str | None,
    now: datetime,
) -> Commitment:
    row = await action_repo.commitment(session, member_id, call)
    if row is None:
        row = Commitment(
            member_id=member_id,
            call=call,
            chapter=chapter,
            join_activity_id=join_id,
            state=state,
            reason=reason,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    else:
        row.join_activity_id = join_id
        row.state = state
        row.reason = reason
        row.updated_at = now
    await session.flush()
    return row


async def leave(services: Services, who: Principal, call_url: str) -> RsvpResult:
    """Withdraw: frees the place (Leave to the hosting chapter when it is elsewhere). The
    commitment stays, as ``left``, so the member's list says what became of it."""
    try:
        call_id = parse_id(call_url.strip(), allow_http=services.settings.allow_http)
    except MalformedDocument as exc:
        raise RsvpError(N_("call: {reason}"), reason=str(exc)) from exc
    member = who.actor
    async with services.db.write() as session:
        row = await action_repo.commitment(session, member.id, call_id)
        if row is None or row.state == CommitmentState.LEFT:
            raise RsvpError(N_("{member} has no RSVP for {call}"), member=member.name, call=call_id)
        row.state = CommitmentState.LEFT
        row.reason = None
        row.updated_at = services.clock.now()
        if same_origin(call_id, services.settings.base_url):
            await leave_local_call(session, services, call_id, member.ap_id)
        else:
            chapter = await services.resolver.cached_actor(row.chapter)
            if chapter is not None:
                activity = build_leave(services.activity_id(), member.ap_id, call_id, row.chapter)
                await publish(session, services, member, activity, [chapter.inbox])
    services.wakeups.deliveries.set()
    return RsvpResult(call_id, CommitmentState.LEFT)


async def commitments(services: Services, who: Principal) -> list[CommitmentView]:
    """The member's commitments as they see them (``calls/commitments.py``)."""
    return await commitment_views(services, who.actor.id)
