"""What a member's public profile shows, and their choice to show their commitments there.

A member (``Person``) is listed with the chapters they belong to. Their commitments (the calls
they said they will come to) are theirs to show: only when they turned that on from /me, and
then only the accepted ones, each with its call as we hold it. A member's role in a chapter is
not shown: who organises is the chapter's to say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from node.features.actors.authz import NotFoundError, Principal
from node.runtime.services import Services
from protocol.errors import N_, ProtocolError
from protocol.events import ActionCall, parse_event, summary_line
from storage.models import LocalActor
from storage.models.states import GROUP_KINDS, ActorKind, CommitmentState
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo


@dataclass(frozen=True, slots=True)
class ShownCommitment:
    """An accepted commitment as the profile lists it; ``call`` is None when we no longer hold
    the call's document (only its address is known then)."""

    call_id: str
    call: ActionCall | None
    summary: str


@dataclass(frozen=True, slots=True)
class PersonProfile:
    chapters: list[LocalActor]
    #: None when the member keeps their commitments to themselves.
    upcoming: list[ShownCommitment] | None
    past: list[ShownCommitment] | None


async def person_profile(services: Services, person: LocalActor, now: datetime) -> PersonProfile:
    """The public face of a local member: their chapters and, if they allow, commitments."""
    if person.kind != ActorKind.MEMBER:
        raise NotFoundError(N_("{name} is not a member"), name=person.name)
    async with services.db.read() as session:
        chapters = [
            actor
            for actor, _ in await action_repo.chapters_of(session, person.id)
            if actor.kind in GROUP_KINDS
        ]
        if not person.show_commitments:
            return PersonProfile(sorted(chapters, key=_title), None, None)
        rows = [
            c
            for c in await action_repo.commitments_of(session, person.id)
            if c.state == CommitmentState.ACCEPTED
        ]
        documents = await action_repo.documents_by_ap_id(session, [c.call for c in rows])
    shown = [_shown(services, c.call, documents.get(c.call)) for c in rows]
    upcoming = sorted(
        (s for s in shown if s.call is not None and s.call.end >= now),
        key=lambda s: s.call.start if s.call else now,
    )
    past = [s for s in shown if s.call is None or s.call.end < now]
    past.sort(key=lambda s: s.call.start if s.call else now, reverse=True)
    return PersonProfile(sorted(chapters, key=_title), upcoming, past)


def _title(actor: LocalActor) -> str:
    return (actor.title or actor.name).casefold()


def _shown(services: Services, call_id: str, document: object) -> ShownCommitment:
    if document is None:
        return ShownCommitment(call_id, None, "")
    try:
        call = parse_event(document, allow_http=services.settings.allow_http)
    except ProtocolError:  # a stored document we can no longer read: its address still is
        return ShownCommitment(call_id, None, "")
    return ShownCommitment(call_id, call, summary_line(call))


async def set_show_commitments(services: Services, who: Principal, shown: bool) -> None:
    """The member's own choice: list their accepted commitments on their profile, or not."""
    async with services.db.write() as session:
        actor = await actor_repo.local_actor_by_name(session, who.actor.name)
        if actor is None or actor.kind != ActorKind.MEMBER:
            raise NotFoundError(N_("only members have a profile to show commitments on"))
        actor.show_commitments = shown
