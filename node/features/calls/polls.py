"""A call's RSVP poll: organisers publish it, the node serves it and keeps its counts current.

The poll is a ``Question`` from the chapter (``protocol/polls.py``), sent to the chapter's
followers like the call itself. Only its id is stored (``action_calls.poll``); the document is
built from the call and the current counts whenever it is served or sent, so it can never
disagree with the participants list. Counts reach followers and voters as ``Update{Question}``,
a coalesced follow-up of kind ``call_poll_update`` (``poll_updates.py``), scheduled by a vote
and by any change of the call's participants (``recount.refresh_participation``).
Votes themselves are taken in ``votes.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.authz import NotFoundError, Principal, require_organiser
from node.features.calls.input import FieldError
from node.features.calls.lifecycle import call_from_row
from node.features.calls.poll_updates import POLL_UPDATE, schedule_poll_update
from node.federation.outbox.audience import change_audience, follower_inboxes
from node.federation.outbox.publish import publish
from node.runtime.services import Services
from protocol.activities import build_create, build_update
from protocol.errors import N_, MalformedDocument
from protocol.ids import ulid_time
from protocol.polls import (
    CANT,
    QUESTION_CONTEXT,
    Tally,
    build_question,
    call_of_poll,
    is_closed,
    poll_id,
)
from storage.models import ActionCall as CallRow
from storage.models import LocalActor
from storage.repositories import actions as action_repo
from storage.repositories import polls as poll_repo

__all__ = ["POLL_UPDATE", "publish_poll", "question_document", "schedule_poll_update"]


async def tally(session: AsyncSession, row: CallRow) -> Tally:
    """The counts: "Going" is the places held in the call, "Can't make it" the voters who said
    so and hold none."""
    return Tally(
        going=await poll_repo.accepted_count(session, row.id),
        cant=await poll_repo.count_choice_without_place(session, row.id, CANT),
    )


async def question_document(
    session: AsyncSession, services: Services, row: CallRow
) -> dict[str, object] | None:
    """The call's poll as it is now, or None when the call has none."""
    parts = call_of_poll(row.poll) if row.poll else None
    if row.poll is None or parts is None:
        return None
    try:
        published = ulid_time(parts[1])
    except MalformedDocument:
        published = row.published_at
    call = call_from_row(row, services)
    return build_question(
        poll=row.poll,
        call=call,
        published=published,
        tally=await tally(session, row),
        now=services.clock.now(),
        followers=call.followers,
    )


async def call_for_poll(
    session: AsyncSession, poll: str, *, for_update: bool = False
) -> CallRow | None:
    """Our call whose poll is ``poll``, if any (the call's id is the start of the poll's)."""
    parts = call_of_poll(poll)
    if parts is None:
        return None
    row = await action_repo.call_by_ap_id(session, parts[0], for_update=for_update)
    if row is None or row.local_actor_id is None or row.poll != poll:
        return None
    return row


def _with_context(activity: dict[str, object]) -> dict[str, object]:
    activity["@context"] = QUESTION_CONTEXT  # defines votersCount for JSON-LD readers
    return activity


async def publish_poll(services: Services, who: Principal, call_id: str) -> CallRow:
    """Publish the call's RSVP poll (organisers only): a ``Create{Question}`` to the chapter's
    followers. A call has one poll: asking again gives the poll already published."""
    async with services.db.write() as session:
        row = await action_repo.call_by_ap_id(session, call_id, for_update=True)
        if row is None or row.local_actor_id is None:
            raise NotFoundError(N_("no action call {id} on this node"), id=call_id)
        chapter = await session.get(LocalActor, row.local_actor_id)
        assert chapter is not None
        await require_organiser(session, who, chapter)
        if row.poll is not None:
            return row
        call = call_from_row(row, services)
        if call.cancelled:
            raise FieldError("poll", N_("the call is cancelled: it takes no RSVPs"))
        if call.join_mode == "external":
            raise FieldError("poll", N_("the call takes no RSVPs here"))
        now = services.clock.now()
        if is_closed(call, now):
            raise FieldError("poll", N_("the call has started: its poll would be closed already"))
        row.poll = poll_id(row.ap_id, services.new_id())
        question = await question_document(session, services, row)
        assert question is not None
        create = _with_context(build_create(services.activity_id(), chapter.ap_id, question))
        await publish(
            session, services, chapter, create, await follower_inboxes(session, services, chapter)
        )
    services.wakeups.deliveries.set()
    return row


async def send_poll_update(services: Services, payload: Mapping[str, Any]) -> None:
    """The ``call_poll_update`` follow-up: one ``Update{Question}`` with the counts as they are
    now, to the chapter's followers and the poll's voters (who may follow nobody here)."""
    call_id = str(payload.get("call", ""))
    async with services.db.write() as session:
        row = await action_repo.call_by_ap_id(session, call_id, for_update=True)
        if row is None or row.local_actor_id is None:
            return
        question = await question_document(session, services, row)
        if question is None:
            return
        chapter = await session.get(LocalActor, row.local_actor_id)
        assert chapter is not None
        update = _with_context(build_update(services.activity_id(), chapter.ap_id, question))
        voters = await poll_repo.voter_inboxes(session, row.id)
        inboxes = await change_audience(session, services, chapter, voters)
        await publish(session, services, chapter, update, inboxes)
    services.wakeups.deliveries.set()
