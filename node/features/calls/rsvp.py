"""A member commits to an action call, here or on another node, or withdraws."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.authz import NotFoundError, Principal
from node.features.calls.commitments import CommitmentView, commitment_views
from node.features.calls.participation import Decision, join_local_call, leave_local_call
from node.features.calls.remote import new_remote_call_values
from node.federation.outbox.publish import publish
from node.federation.resolver import ResolveError
from node.federation.transport import FetchError
from node.runtime.services import Services
from protocol.activities import build_join, build_leave
from protocol.errors import ChapterhouseError, MalformedDocument, ProtocolError
from protocol.events import parse_event
from protocol.ids import parse_id, same_origin
from protocol.timefmt import format_xsd_datetime
from storage.models import ActionCall as CallRow
from storage.models import Commitment, LocalActor
from storage.models.states import CommitmentState
from storage.repositories import actions as action_repo


class RsvpError(ChapterhouseError):
    """The RSVP cannot be made; the message says why."""


class CallEnded(RsvpError):
    """The call's end has passed, so it takes no more RSVPs (HTTP 409: the call's state, not
    the request, is what stands in the way)."""

    def __init__(self, call_id: str, end: datetime) -> None:
        super().__init__(f"{call_id} ended at {format_xsd_datetime(end)}: it takes no more RSVPs")
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
    return Decision(False, ended_reason(row.end_time)), row, chapter


@dataclass(frozen=True, slots=True)
class RsvpResult:
    call: str
    state: str
    reason: str | None = None


async def _call_chapter(
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
        raise RsvpError(f"cannot load action call {call_id}: {exc}") from exc
    if call.id != call_id:
        raise RsvpError(f"{call_id} serves a different call ({call.id})")
    document = fetched.document  # an Event (parse_event read it): a JSON object
    return call.chapter, call.end, document if isinstance(document, Mapping) else None


async def rsvp(services: Services, who: Principal, call_url: str) -> RsvpResult:
    """Join a call: decided at once for calls here, by the hosting chapter otherwise.

    A call whose end has passed (by this node's clock) raises ``CallEnded`` and stores nothing;
    the hosting node refuses such a Join too (``refuse_if_ended``), whatever our clock says.
    """
    try:
        call_id = parse_id(call_url.strip(), allow_http=services.settings.allow_http)
    except MalformedDocument as exc:
        raise RsvpError(f"call: {exc}") from exc
    member = who.actor
    now = services.clock.now()
    join_id = services.activity_id()
    if same_origin(call_id, services.settings.base_url):
        async with services.db.write() as session:
            known = await action_repo.call_by_ap_id(session, call_id)
            if known is not None and known.end_time <= now:
                raise CallEnded(call_id, known.end_time)
            decision, row, _chapter = await join_local_call(
                session, services, call_id, member.ap_id, join_id
            )
            if row is None:
                raise NotFoundError(f"no action call {call_id} on this node")
            state = CommitmentState.ACCEPTED if decision.accepted else CommitmentState.REJECTED
            await _record(
                session, member.id, call_id, row.chapter, join_id, state, decision.reason, now
            )
        services.wakeups.deliveries.set()
        return RsvpResult(call_id, state, decision.reason)
    chapter_id, end, fetched = await _call_chapter(services, call_id)
    if end <= now:
        raise CallEnded(call_id, end)
    try:
        chapter = await services.resolver.actor(chapter_id)
    except ResolveError as exc:
        raise RsvpError(str(exc)) from exc
    async with services.db.write() as session:
        existing = await action_repo.commitment(session, member.id, call_id)
        if existing is not None and existing.state == CommitmentState.ACCEPTED:
            return RsvpResult(call_id, CommitmentState.ACCEPTED)
        await _record(
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
        await publish(session, services, member, join, [chapter.inbox])
    services.wakeups.deliveries.set()
    return RsvpResult(call_id, CommitmentState.PENDING)


async def _record(
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
        raise RsvpError(f"call: {exc}") from exc
    member = who.actor
    async with services.db.write() as session:
        row = await action_repo.commitment(session, member.id, call_id)
        if row is None or row.state == CommitmentState.LEFT:
            raise RsvpError(f"{member.name} has no RSVP for {call_id}")
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
