"""Action calls: organisers create, edit and cancel them; followers get Create/Update/Delete.

Every change writes the call's new document, its activity and the deliveries in one
transaction (node/federation/outbox/publish.py); the worker sends them after the commit.

Participation is the exception: each Join or Leave stores the new count at once (our own pages
stay right), but followers hear of it through a durable follow-up of kind
``call_participation_update`` (one row per call), run at most once per
``participation_update_seconds`` and sending the document as it is then: twenty Joins and
Leaves cost each follower inbox one Update, not forty. An organiser's edit or cancellation
still goes out at once and absorbs a participation update that was waiting. The recount
itself is ``recount.py`` (a burst of Joins signs the document once per transaction).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Final

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.authz import NotFoundError, Principal, local_chapter, require_organiser
from node.features.calls.adoption.state import initial_state
from node.features.calls.input import ActionInput, FieldError, parse_action_input
from node.features.calls.patch import apply_fields, apply_input, apply_slots, call_times
from node.features.calls.places import counted, promote
from node.features.calls.poll_updates import schedule_poll_update
from node.features.notifications.changes import tell_local_change
from node.federation.followups.queue import follow_up
from node.federation.outbox.audience import change_audience
from node.federation.outbox.publish import publish
from node.federation.proofs import sign_object
from node.runtime.services import Services
from protocol.activities import build_announce, build_create, build_update
from protocol.errors import N_
from protocol.events import CANCELLED, CONFIRMED, ActionCall, build_event, parse_event
from protocol.jsonld import id_of
from storage.models import ActionCall as CallRow
from storage.models import LocalActor
from storage.models.states import ActorKind
from storage.repositories import actions as action_repo
from storage.repositories import follow_ups as follow_up_repo
from storage.repositories import places as places_repo
from storage.repositories import slots as slot_repo

#: The follow-up kind that sends followers a call's participant count (key: the call's id).
PARTICIPATION_UPDATE: Final = "call_participation_update"
#: The follow-up kind that brings the calls adopted here from a campaign call of this node up
#: to date with it (key: the Update's id; ``node/features/calls/adoption/follow.py``).
ADOPTED_CALLS: Final = "adopted_calls_follow"
#: Why organisers cancelled a call, in its Event (plain text; see FEDERATION.md).
CANCELLATION_REASON: Final = "chapterhouse:cancellationReason"
MAX_REASON: Final = 500


def call_from_row(row: CallRow, services: Services) -> ActionCall:
    """The call ``row`` stores, parsed once per stored document and ORM instance (a burst of
    Joins handled in one session reads the same call again and again). The instance's state
    keeps the parse with the very document object it came from: a new document (an edit, a
    recount, a reload) is parsed anew. Documents are only ever replaced, never changed in
    place, and ``ActionCall`` is frozen."""
    allow_http = services.settings.allow_http
    memo = sa_inspect(row).info
    document = row.document
    parsed = memo.get(_PARSED)
    if parsed is not None and parsed[0] is document and parsed[1] == allow_http:
        return parsed[2]  # type: ignore[no-any-return]
    call = parse_event(document, allow_http=allow_http)
    memo[_PARSED] = (document, allow_http, call)
    return call


#: Where ``call_from_row`` keeps its parse, in the row's ORM instance state ``info``.
_PARSED: Final = "parsed_call"


def call_language(services: Services, chapter: LocalActor) -> str:
    """The language of a call that names none: the chapter's first, else the node's default."""
    languages = chapter.languages
    if isinstance(languages, list) and languages and isinstance(languages[0], str):
        return languages[0]
    return services.settings.default_language


def _apply(call: ActionCall, data: ActionInput, chapter_zone: str | None = None) -> ActionCall:
    """``call`` patched by ``data``: only the fields given change (node/features/calls/patch.py)."""
    return apply_input(call, data, chapter_zone)


def signed(services: Services, chapter: LocalActor, doc: dict[str, object]) -> dict[str, object]:
    """Calls carry the chapter's proof, so relayed copies can be checked without trust."""
    return sign_object(services, chapter, doc)


def row_values(call: ActionCall, doc: dict[str, object]) -> dict[str, object]:
    return {
        "title": call.title,
        "start_time": call.start,
        "end_time": call.end,
        "status": call.status,
        "capacity": call.capacity,
        "participant_count": call.participant_count,
        "document": doc,
        "updated_at": call.updated or call.published,
    }


async def _publish_change(
    session: AsyncSession,
    services: Services,
    chapter: LocalActor,
    activity: dict[str, object],
    *,
    participants: bool = True,
) -> None:
    """Send a change to the chapter's followers. An Update of one of its calls also goes to
    the call's remote participants, who may follow nobody here (``participants=False`` only
    for the coalesced count, which is for followers' feeds); and an Update of a campaign's
    call brings the calls adopted from it on this node up to date (a follow-up, after the
    commit: ``adoption/follow.py`` builds on this module)."""
    row = None
    concerned: list[str] = []
    if activity.get("type") == "Update":
        call_id = id_of(activity.get("object"))
        row = await action_repo.call_by_ap_id(session, call_id) if call_id else None
        if row is None or row.local_actor_id != chapter.id:
            row = None
        elif participants:
            concerned = await action_repo.participant_inboxes(session, row.id)
    inboxes = await change_audience(session, services, chapter, concerned)
    await publish(session, services, chapter, activity, inboxes)
    if (
        row is not None
        and chapter.kind == ActorKind.CAMPAIGN
        and await action_repo.adoptions_of_call(session, row.ap_id)
    ):
        item = follow_up(ADOPTED_CALLS, str(activity["id"]), {"call": row.ap_id}, chapter.ap_id)
        await follow_up_repo.enqueue(session, [item], services.clock.now())


def event_document(call: ActionCall, reason: str | None = None) -> dict[str, object]:
    """The call's Event; a cancelled call carries the organisers' reason, if they gave one."""
    doc = build_event(call)
    if call.cancelled and reason:
        doc[CANCELLATION_REASON] = reason
    return doc


def cancellation_reason(document: Mapping[str, object]) -> str | None:
    """The reason a (stored, possibly remote) cancelled call gives, as plain text."""
    if document.get("ical:status") != CANCELLED:
        return None
    reason = document.get(CANCELLATION_REASON)
    if not isinstance(reason, str):
        return None
    return reason.strip()[:MAX_REASON] or None


async def publish_update(
    session: AsyncSession,
    services: Services,
    row: CallRow,
    chapter: LocalActor,
    call: ActionCall,
    *,
    reason: str | None = None,
) -> None:
    """Store ``call`` as the new version of the local call ``row`` and send its Update to the
    chapter's followers and the call's participants, in the caller's transaction (the caller
    wakes the delivery worker after the commit). A cancelled call keeps its stored reason
    unless ``reason`` gives one."""
    call = dataclasses.replace(call, updated=services.clock.now())
    before = call_from_row(row, services)
    kept = cancellation_reason(row.document) if call.cancelled else None
    doc = signed(services, chapter, event_document(call, reason or kept))
    for key, value in row_values(call, doc).items():
        setattr(row, key, value)
    update = build_update(services.activity_id(), chapter.ap_id, doc)
    await _publish_change(session, services, chapter, update)
    await tell_local_change(
        session, services, chapter, row, before, call, key=str(update["id"]), reason=reason or kept
    )
    await _absorb_participation_update(session, services, row)


async def create_action(
    services: Services,
    who: Principal,
    chapter_name: str,
    data: Mapping[str, object],
    *,
    campaign: str | None = None,
    announce: str | None = None,
) -> CallRow:
    parsed = parse_action_input(data, creating=True, allow_http=services.settings.allow_http)
    assert parsed.title is not None
    now = services.clock.now()
    async with services.db.write() as session:
        chapter = await local_chapter(session, chapter_name)
        await require_organiser(session, who, chapter)
        # Times without an offset are read in the chapter's zone when none is given.
        start, end, zone = call_times(parsed, None, chapter.timezone)
        if campaign is not None:
            # Lock the campaign's call, so two adoptions at once still make one local call.
            await action_repo.call_by_ap_id(session, campaign, for_update=True)
            existing = await _live_adoption(session, chapter, campaign)
            if existing is not None:
                return existing
        call_id = services.ids.actor_part(chapter.name, f"actions/{services.new_id()}")
        call = apply_fields(
            ActionCall(
                id=call_id,
                chapter=chapter.ap_id,
                title=parsed.title,
                start=start,
                end=end,
                timezone=zone,
                published=now,
                url=call_id,
                followers=services.ids.actor_part(chapter.name, "followers"),
                campaign=campaign,
                context=campaign,
                language=call_language(services, chapter),
            ),
            parsed,
        )
        call = apply_slots(call, parsed, taken={})  # slot ids, and capacity = their sum
        doc = signed(services, chapter, build_event(call))
        row = CallRow(
            ap_id=call_id,
            chapter=chapter.ap_id,
            local_actor_id=chapter.id,
            published_at=now,
            received_at=now,
            **row_values(call, doc),
        )
        session.add(row)
        await session.flush()
        followers = services.ids.actor_part(chapter.name, "followers")
        for activity in new_call_activities(
            services.activity_id, chapter.ap_id, followers, doc, announce
        ):
            await _publish_change(session, services, chapter, activity)
    services.wakeups.deliveries.set()
    return row


def new_call_activities(
    new_id: Callable[[], str],
    chapter: str,
    followers: str,
    doc: dict[str, object],
    announce: str | None,
) -> list[dict[str, object]]:
    """What a new call sends each follower inbox: its ``Create`` and, for a call adopted from
    a campaign's, an ``Announce`` of the campaign's own call (members see it too; Mastodon
    shows it as a boost). Pure, so the planet simulation (bench/planet) sends the same."""
    out = [build_create(new_id(), chapter, doc)]
    if announce is not None:
        out.append(build_announce(new_id(), chapter, announce, cc=[followers]))
    return out


async def _live_adoption(
    session: AsyncSession, chapter: LocalActor, campaign_call: str
) -> CallRow | None:
    """The chapter's call made from ``campaign_call`` that is not cancelled, if any."""
    for row in await action_repo.adoptions_of(session, chapter.id, campaign_call):
        if row.status != CANCELLED:
            return row
    return None


async def adopt_action(
    services: Services, who: Principal, call_url: str, chapter_name: str
) -> CallRow:
    """A chapter takes up a campaign's call: a local call linked to it, announced to members.

    Taking up the same call again gives the chapter's call made the first time (one local call
    per chapter and campaign call); only once that one is cancelled can it be taken up anew.
    """
    async with services.db.read() as session:
        source = await action_repo.call_by_ap_id(session, call_url)
        if source is None:
            raise NotFoundError(
                N_("{call} is not a call this node has received (follow the campaign first)"),
                call=call_url,
            )
        chapter = await local_chapter(session, chapter_name)
        await require_organiser(session, who, chapter)
        existing = await _live_adoption(session, chapter, source.ap_id)
    if existing is not None:
        return existing
    call = call_from_row(source, services)
    if call.cancelled:
        raise FieldError("call", N_("the campaign's call is cancelled"))
    data: dict[str, object] = {
        "title": call.title,
        "start": call.start.isoformat(),
        "end": call.end.isoformat(),
        "description": call.content or None,
        "timezone": call.timezone,
        "goal": call.goal,
        "targets": [t.as_json() for t in call.targets] or None,
        "tags": list(call.tags) or None,
        "online_url": call.online_url,
        "language": call.language,
        "titleMap": dict(call.title_map) or None,
        "descriptionMap": dict(call.content_map) or None,
    }
    if call.place is not None:
        data["place"] = {k: v for k, v in dataclasses.asdict(call.place).items() if v is not None}
    data = {k: v for k, v in data.items() if v is not None}
    row = await create_action(services, who, chapter_name, data, campaign=call.id, announce=call.id)
    if row.adoption is None:  # the campaign's values as adopted: the start of per-field following
        async with services.db.write() as session:
            stored = await session.get(CallRow, row.id)
            if stored is not None and stored.adoption is None:
                stored.adoption = row.adoption = initial_state(call)
    return row


async def _local_call(
    session: AsyncSession, services: Services, call_id: str
) -> tuple[CallRow, LocalActor]:
    row = await action_repo.call_by_ap_id(session, call_id, for_update=True)
    if row is None or row.local_actor_id is None:
        raise NotFoundError(N_("no action call {id} on this node"), id=call_id)
    chapter = await session.get(LocalActor, row.local_actor_id)
    assert chapter is not None
    return row, chapter


async def _taken_by_slot(session: AsyncSession, call_id: int) -> dict[str, int]:
    """Slot id → the places held in it (waiting people hold none)."""
    _total, per_slot = await places_repo.accepted_counts(session, call_id)
    return {slot: n for slot, n in per_slot.items() if slot is not None}


async def update_action(
    services: Services, who: Principal, call_id: str, data: Mapping[str, object]
) -> CallRow:
    """Change only the fields given in ``data`` (a patch; ``null`` removes a field)."""
    parsed = parse_action_input(data, creating=False, allow_http=services.settings.allow_http)
    if parsed.is_empty():
        raise FieldError("call", N_("nothing to change: give at least one field"))
    async with services.db.write() as session:
        row, chapter = await _local_call(session, services, call_id)
        await require_organiser(session, who, chapter)
        current = call_from_row(row, services)
        if current.cancelled:
            raise FieldError("status", N_("a cancelled call cannot be edited"))
        call = _apply(current, parsed, chapter.timezone)
        if call.language is None and (call.title_map or call.content_map):
            call = dataclasses.replace(call, language=call_language(services, chapter))
        call = apply_slots(  # stable ids; taken slots may not go or shrink below their people
            call,
            parsed,
            taken=await _taken_by_slot(session, row.id),
            reserved=await slot_repo.slots_named(session, row.id),
            previous=current,  # a call moved whole takes its slots with it
        )
        if call.capacity is not None and call.capacity < call.participant_count:
            raise FieldError(
                "capacity",
                N_("{count} people have already joined"),
                count=call.participant_count,
            )
        if await promote(session, services, row, chapter, call):  # more room: the waiting list
            call = await counted(session, row, call)
            await schedule_poll_update(session, services, row)
        call = dataclasses.replace(call, updated=services.clock.now())
        doc = signed(services, chapter, build_event(call))
        for key, value in row_values(call, doc).items():
            setattr(row, key, value)
        update = build_update(services.activity_id(), chapter.ap_id, doc)
        await _publish_change(session, services, chapter, update)
        await tell_local_change(
            session, services, chapter, row, current, call, key=str(update["id"])
        )
        await _absorb_participation_update(session, services, row)
    services.wakeups.deliveries.set()
    return row


def _reason(reason: object) -> str | None:
    """The organisers' reason for a cancellation: optional plain text, at most ``MAX_REASON``."""
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise FieldError("reason", N_("must be a string"))
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise FieldError("reason", N_("must be at most {limit} characters"), limit=MAX_REASON)
    return reason or None


async def cancel_action(
    services: Services, who: Principal, call_id: str, reason: object = None
) -> CallRow:
    """Cancel a call: its Update, with ``ical:status`` CANCELLED and the reason if given, goes
    to followers and participants (Mobilizon and Gancio read the status; a Delete would erase
    the event from their calendars, and nobody could restore it). Participants stay listed,
    so that ``restore_action`` gives everyone their place back; every commitment shows
    ``cancelled`` meanwhile. Cancelling a cancelled call changes nothing."""
    text = _reason(reason)
    async with services.db.write() as session:
        row, chapter = await _local_call(session, services, call_id)
        await require_organiser(session, who, chapter)
        current = call_from_row(row, services)
        if current.cancelled:
            return row
        cancelled = dataclasses.replace(current, status=CANCELLED)
        await publish_update(session, services, row, chapter, cancelled, reason=text)
    services.wakeups.deliveries.set()
    return row


async def restore_action(services: Services, who: Principal, call_id: str) -> CallRow:
    """Un-cancel a call: its Update with ``ical:status`` CONFIRMED goes to followers and
    participants, and commitments show their answer again (accepted, pending ...). Restoring
    a call that is not cancelled changes nothing."""
    async with services.db.write() as session:
        row, chapter = await _local_call(session, services, call_id)
        await require_organiser(session, who, chapter)
        current = call_from_row(row, services)
        if not current.cancelled:
            return row
        restored = dataclasses.replace(current, status=CONFIRMED)
        if await promote(session, services, row, chapter, restored):  # places freed meanwhile
            restored = await counted(session, row, restored)
        await publish_update(session, services, row, chapter, restored)
    services.wakeups.deliveries.set()
    return row


async def _absorb_participation_update(
    session: AsyncSession, services: Services, row: CallRow
) -> None:
    """The organiser just sent the whole document (with the count): nothing left to send."""
    await follow_up_repo.absorb(session, PARTICIPATION_UPDATE, row.ap_id, now=services.clock.now())


async def send_participation_update(services: Services, payload: Mapping[str, Any]) -> None:
    """The ``call_participation_update`` follow-up: one Update of the call as it is now."""
    call_id = str(payload.get("call", ""))
    async with services.db.write() as session:
        row = await action_repo.call_by_ap_id(session, call_id, for_update=True)
        if row is None or row.local_actor_id is None or row.status == CANCELLED:
            return  # gone, or cancelled: the cancellation's Update already told everyone
        chapter = await session.get(LocalActor, row.local_actor_id)
        assert chapter is not None
        update = build_update(services.activity_id(), chapter.ap_id, row.document)
        await _publish_change(session, services, chapter, update, participants=False)
    services.wakeups.deliveries.set()


async def list_actions(services: Services, chapter_name: str) -> list[CallRow]:
    async with services.db.read() as session:
        chapter = await local_chapter(session, chapter_name)
        return await action_repo.calls_of_chapter(session, chapter.ap_id)
