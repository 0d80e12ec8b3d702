"""Finding a local action call for the pages, and what it is to the person looking at it.

The pages address a call by its chapter's name and its ULID and show organisers' controls, the
viewer's RSVP and the roster only to those entitled; these reads are gathered here so the pages
hold no queries.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.features.actors.authz import NotFoundError, Principal
from node.features.actors.directory import is_organiser
from node.features.calls.lifecycle import call_from_row
from node.runtime.services import Services
from protocol.errors import N_
from protocol.events import ActionCall
from storage.models import ActionCall as CallRow
from storage.models import LocalActor
from storage.models.states import GROUP_KINDS, CommitmentState
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo


@dataclass(frozen=True, slots=True)
class CallViewer:
    """What a signed-in member sees of a call: their commitment, and organisers' controls."""

    commitment: str | None  # pending, accepted, rejected, or None when they have not RSVPed
    organiser: bool


async def local_call(services: Services, call_id: str) -> tuple[CallRow, LocalActor]:
    """A call published by one of this node's chapters, with that chapter."""
    async with services.db.read() as session:
        row = await action_repo.call_by_ap_id(session, call_id)
        chapter = (
            await session.get(LocalActor, row.local_actor_id)
            if row and row.local_actor_id
            else None
        )
    if row is None or chapter is None:
        raise NotFoundError(N_("no such action call on this node"))
    return row, chapter


async def call_viewer(services: Services, who: Principal, row: CallRow, call_id: str) -> CallViewer:
    """``who``'s commitment to the call ``call_id`` (stored as ``row``), and whether they organise it."""
    async with services.db.read() as session:
        mine = await action_repo.commitment(session, who.actor.id, call_id)
        chapter = await session.get(LocalActor, row.local_actor_id) if row.local_actor_id else None
    organiser = chapter is not None and await is_organiser(services, who, chapter)
    shown = mine.state if mine and mine.state != CommitmentState.LEFT else None  # may RSVP again
    return CallViewer(shown, organiser)


async def calls_with_participants(
    services: Services, chapter: LocalActor, *, limit: int = 50
) -> list[dict[str, object]]:
    """The chapter's calls, each with its participants: the roster on the manage page."""
    async with services.db.read() as session:
        return [
            {
                "call": call_from_row(row, services),
                "participants": await action_repo.participants(session, row.id),
            }
            for row in await action_repo.calls_of_chapter(session, chapter.ap_id, limit=limit)
        ]


async def chapter_calls(
    services: Services, name: str, *, newest_first: bool = False
) -> tuple[LocalActor, list[ActionCall]]:
    """A local chapter's calls for its feeds: by start time (the calendar), or the most
    recently published first (Atom)."""
    async with services.db.read() as session:
        chapter = await actor_repo.local_actor_by_name(session, name)
        if chapter is None or chapter.kind not in GROUP_KINDS:
            raise NotFoundError(N_("no such chapter on this node"))
        if newest_first:
            rows = await action_repo.recent_calls(session, chapter.ap_id, limit=200)
        else:
            rows = await action_repo.calls_of_chapter(session, chapter.ap_id)
    return chapter, [call_from_row(r, services) for r in rows]
