"""Our members answer another chapter's RSVP poll, as a Mastodon user would.

A chapter elsewhere may publish a call's poll (``protocol/polls.py``); a member here answers
it with a vote in Mastodon's own shape, so the chapter needs to know nothing of us. "Going"
records a pending commitment to the poll's call (the vote's Note is its join id) and the
chapter's answer arrives as a direct message (``handlers/notices.py``): accepted, waitlisted
or refused, shown to the member and kept current like any RSVP (reminders, changes). "Can't
make it" withdraws a commitment the member had.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from node.features.actors.authz import Principal
from node.features.calls.remote import new_remote_call_values
from node.features.calls.rsvp import RsvpError, call_chapter, record_commitment
from node.federation.outbox.publish import publish
from node.federation.resolver import ResolveError
from node.federation.transport import FetchError
from node.runtime.services import Services
from protocol.errors import N_, MalformedDocument, ProtocolError
from protocol.events import parse_event
from protocol.ids import parse_id, same_origin
from protocol.jsonld import id_of
from protocol.polls import GOING, build_vote, poll_options
from protocol.timefmt import parse_xsd_datetime
from protocol.vocabulary import has_type
from storage.models.states import CommitmentState
from storage.repositories import actions as action_repo


@dataclass(frozen=True, slots=True)
class VoteSent:
    poll: str
    choice: str
    call: str | None
    state: str | None  # the member's commitment to the call after the vote, if any


async def _question(services: Services, poll: str) -> Mapping[str, object]:
    signer = await services.fetch_signer()
    try:
        fetched = await services.transport.get_json(poll, signer=signer)
    except FetchError as exc:
        raise RsvpError(
            N_("cannot load the poll {poll}: {reason}"), poll=poll, reason=str(exc)
        ) from exc
    doc = fetched.document
    if not isinstance(doc, Mapping) or not has_type(doc, "Question"):
        raise RsvpError(N_("{poll} is not a poll (a Question)"), poll=poll)
    if id_of(doc) != poll:
        raise RsvpError(
            N_("{poll} serves a different document ({other})"),
            poll=poll,
            other=f"{id_of(doc)!r:.200}",
        )
    return doc


def _closed(doc: Mapping[str, object], services: Services) -> bool:
    for key in ("closed", "endTime"):
        text = doc.get(key)
        if isinstance(text, str):
            try:
                if parse_xsd_datetime(text) <= services.clock.now():
                    return True
            except MalformedDocument:
                continue
    return False


async def vote(services: Services, who: Principal, poll_url: str, choice: str) -> VoteSent:
    """Send the member's vote ``choice`` on the poll at ``poll_url`` to its author."""
    try:
        poll = parse_id(poll_url.strip(), allow_http=services.settings.allow_http)
    except MalformedDocument as exc:
        raise RsvpError(N_("poll: {reason}"), reason=str(exc)) from exc
    if same_origin(poll, services.settings.base_url):
        raise RsvpError(N_("this poll is on this node: answer its call with `rsvp` instead"))
    doc = await _question(services, poll)
    options = poll_options(doc)
    if choice not in options:
        listed = " or ".join(repr(o) for o in options) or "none"
        raise RsvpError(
            N_("{choice!r} is not an option of this poll (its options: {listed})"),
            choice=choice,
            listed=listed,
        )
    if _closed(doc, services):
        raise RsvpError(N_("this poll is closed"))
    owner = id_of(doc.get("attributedTo"))
    if owner is None or not same_origin(owner, poll):
        raise RsvpError(N_("the poll names no author on its own server"))
    try:
        chapter = await services.resolver.actor(owner)
    except ResolveError as exc:
        raise RsvpError(exc.wording or str(exc), **exc.params) from exc
    call = id_of(doc.get("context"))
    fetched = None
    if call is not None and same_origin(call, poll):
        _chapter, _end, fetched = await call_chapter(services, call)
    else:
        call = None
    member = who.actor
    note_id = services.ids.activity(services.new_id())
    state: str | None = None
    async with services.db.write() as session:
        if call is not None:
            existing = await action_repo.commitment(session, member.id, call)
            if choice == GOING:
                if existing is not None and existing.state in (
                    CommitmentState.ACCEPTED,
                    CommitmentState.WAITLISTED,
                ):
                    state = existing.state  # already answered: the vote is sent, nothing changes
                else:
                    now = services.clock.now()
                    await record_commitment(
                        session, member.id, call, chapter.id, note_id,
                        CommitmentState.PENDING, None, now,
                    )  # fmt: skip
                    state = CommitmentState.PENDING
            elif existing is not None and existing.state != CommitmentState.LEFT:
                existing.state = CommitmentState.LEFT
                existing.reason = None
                existing.updated_at = services.clock.now()
                state = CommitmentState.LEFT
            if fetched is not None:
                try:
                    copy = parse_event(fetched, allow_http=services.settings.allow_http)
                except ProtocolError:
                    copy = None
                if copy is not None:
                    await action_repo.add_call_if_absent(
                        session, new_remote_call_values(copy, fetched, services.clock.now())
                    )
        activity = build_vote(
            note_id=note_id,
            activity_id=services.activity_id(),
            voter=member.ap_id,
            poll=poll,
            owner=chapter.id,
            choice=choice,
        )
        await publish(session, services, member, activity, [chapter.inbox])
    services.wakeups.deliveries.set()
    return VoteSent(poll, choice, call, state)
