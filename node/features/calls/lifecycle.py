"""Action calls: organisers create, edit and cancel them; followers get Create/Update/Delete.

Every change writes the call's new document, its activity and the deliveries in one
transaction (node/federation/outbox/publish.py); the worker sends them after the commit.

Participation is the exception: each Join or Leave stores the new count at once (our own pages
stay right), but followers hear of it through a durable follow-up of kind
``call_participation_update`` (one row per call), run at most once per
``participation_update_seconds`` and sending the document as it is then: twenty Joins and
Leaves cost each follower inbox one Update, not forty. An organiser's edit or cancellation
still goes out at once and absorbs a participation update that was waiting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.authz import NotFoundError, Principal, local_chapter, require_organiser
from node.features.calls.input import ActionInput, FieldError, check_times, parse_action_input
from node.federation.followups.queue import follow_up
from node.federation.outbox.audience import follower_inboxes
from node.federation.outbox.publish import publish
from node.federation.proofs import sign_object
from node.runtime.services import Services
from protocol.activities import build_announce, build_create, build_delete, build_update
from protocol.events import CANCELLED, ActionCall, build_event, parse_event
from protocol.timefmt import format_xsd_datetime
from storage.models import ActionCall as CallRow
from storage.models import LocalActor
from storage.repositories import actions as action_repo
from storage.repositories import follow_ups as follow_up_repo

#: The follow-up kind that sends followers a call's participant count (key: the call's id).
PARTICIPATION_UPDATE: Final = "call_participation_update"


def call_from_row(row: CallRow, services: Services) -> ActionCall:
    return parse_event(row.document, allow_http=services.settings.allow_http)


def _apply(call: ActionCall, data: ActionInput) -> ActionCall:
    changes: dict[str, object] = {}
    for name in ("title", "start", "end", "timezone", "goal", "targets", "tags"):
        value = getattr(data, name)
        if value is not None:
            changes[name] = value
    if data.description is not None:
        changes["content"] = data.description
    if data.place is not None:
        changes["place"] = data.place
        changes["online_url"] = data.online_url
    elif data.online_url is not None:
        changes["online_url"] = data.online_url
        changes["place"] = None
    if data.capacity is not None:
        changes["capacity"] = data.capacity
    elif data.clear_capacity:
        changes["capacity"] = None
    return dataclasses.replace(call, **changes)  # type: ignore[arg-type]


def _signed(services: Services, chapter: LocalActor, doc: dict[str, object]) -> dict[str, object]:
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
    session: AsyncSession, services: Services, chapter: LocalActor, activity: dict[str, object]
) -> None:
    inboxes = await follower_inboxes(session, services, chapter)
    await publish(session, services, chapter, activity, inboxes)


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
    assert parsed.start is not None
    assert parsed.end is not None
    assert parsed.title is not None
    check_times(parsed.start, parsed.end)
    now = services.clock.now()
    async with services.db.write() as session:
        chapter = await local_chapter(session, chapter_name)
        await require_organiser(session, who, chapter)
        if campaign is not None:
            # Lock the campaign's call, so two adoptions at once still make one local call.
            await action_repo.call_by_ap_id(session, campaign, for_update=True)
            existing = await _live_adoption(session, chapter, campaign)
            if existing is not None:
                return existing
        call_id = services.ids.actor_part(chapter.name, f"actions/{services.new_id()}")
        call = _apply(
            ActionCall(
                id=call_id,
                chapter=chapter.ap_id,
                title=parsed.title,
                start=parsed.start,
                end=parsed.end,
                published=now,
                url=call_id,
                followers=services.ids.actor_part(chapter.name, "followers"),
                campaign=campaign,
                context=campaign,
            ),
            parsed,
        )
        doc = _signed(services, chapter, build_event(call))
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
        activity = build_create(services.activity_id(), chapter.ap_id, doc)
        await _publish_change(session, services, chapter, activity)
        if announce is not None:
            # Members see the campaign's own call too (Mastodon shows it as a boost).
            boost = build_announce(
                services.activity_id(),
                chapter.ap_id,
                announce,
                cc=[services.ids.actor_part(chapter.name, "followers")],
            )
            await _publish_change(session, services, chapter, boost)
    services.wakeups.deliveries.set()
    return row


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
                f"{call_url} is not a call this node has received (follow the campaign first)"
            )
        chapter = await local_chapter(session, chapter_name)
        await require_organiser(session, who, chapter)
        existing = await _live_adoption(session, chapter, source.ap_id)
    if existing is not None:
        return existing
    call = call_from_row(source, services)
    if call.cancelled:
        raise FieldError("call", "the campaign's call is cancelled")
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
    }
    if call.place is not None:
        data["place"] = {k: v for k, v in dataclasses.asdict(call.place).items() if v is not None}
    data = {k: v for k, v in data.items() if v is not None}
    return await create_action(
        services, who, chapter_name, data, campaign=call.id, announce=call.id
    )


async def _local_call(
    session: AsyncSession, services: Services, call_id: str
) -> tuple[CallRow, LocalActor]:
    row = await action_repo.call_by_ap_id(session, call_id, for_update=True)
    if row is None or row.local_actor_id is None:
        raise NotFoundError(f"no action call {call_id} on this node")
    chapter = await session.get(LocalActor, row.local_actor_id)
    assert chapter is not None
    return row, chapter


async def update_action(
    services: Services, who: Principal, call_id: str, data: Mapping[str, object]
) -> CallRow:
    parsed = parse_action_input(data, creating=False, allow_http=services.settings.allow_http)
    async with services.db.write() as session:
        row, chapter = await _local_call(session, services, call_id)
        await require_organiser(session, who, chapter)
        current = call_from_row(row, services)
        if current.cancelled:
            raise FieldError("status", "a cancelled call cannot be edited")
        call = _apply(current, parsed)
        check_times(call.start, call.end)
        if call.capacity is not None and call.capacity < call.participant_count:
            raise FieldError("capacity", f"{call.participant_count} people have already joined")
        call = dataclasses.replace(call, updated=services.clock.now())
        doc = _signed(services, chapter, build_event(call))
        for key, value in row_values(call, doc).items():
            setattr(row, key, value)
        await _publish_change(
            session, services, chapter, build_update(services.activity_id(), chapter.ap_id, doc)
        )
        await _absorb_participation_update(session, services, row)
    services.wakeups.deliveries.set()
    return row


async def cancel_action(services: Services, who: Principal, call_id: str) -> CallRow:
    now = services.clock.now()
    async with services.db.write() as session:
        row, chapter = await _local_call(session, services, call_id)
        await require_organiser(session, who, chapter)
        current = call_from_row(row, services)
        if current.cancelled:
            return row
        call = dataclasses.replace(current, status=CANCELLED, updated=now)
        doc = _signed(services, chapter, build_event(call))
        for key, value in row_values(call, doc).items():
            setattr(row, key, value)
        delete = build_delete(
            services.activity_id(),
            chapter.ap_id,
            call.id,
            "Event",
            to=doc["to"],
            cc=doc["cc"],
            deleted=format_xsd_datetime(now),
        )
        await _publish_change(session, services, chapter, delete)
        await _absorb_participation_update(session, services, row)
    services.wakeups.deliveries.set()
    return row


async def refresh_participation(
    session: AsyncSession, services: Services, row: CallRow, chapter: LocalActor
) -> bool:
    """Recount participants and store the new document at once; followers get it later, at
    most once per ``participation_update_seconds`` (a durable follow-up, so a restart keeps
    it). Returns True when that update was scheduled (wake the follow-up worker after the
    commit)."""
    count = await action_repo.count_participants(session, row.id)
    current = call_from_row(row, services)
    if count == current.participant_count:
        return False
    call = dataclasses.replace(current, participant_count=count, updated=services.clock.now())
    doc = _signed(services, chapter, build_event(call))
    for key, value in row_values(call, doc).items():
        setattr(row, key, value)
    item = follow_up(PARTICIPATION_UPDATE, row.ap_id, {"call": row.ap_id}, about=chapter.ap_id)
    spacing = timedelta(seconds=services.settings.participation_update_seconds)
    return await follow_up_repo.schedule_once(
        session, item, now=services.clock.now(), spacing=spacing
    )


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
            return  # gone, or cancelled: the Delete already told followers
        chapter = await session.get(LocalActor, row.local_actor_id)
        assert chapter is not None
        update = build_update(services.activity_id(), chapter.ap_id, row.document)
        await _publish_change(session, services, chapter, update)
    services.wakeups.deliveries.set()


async def list_actions(services: Services, chapter_name: str) -> list[CallRow]:
    async with services.db.read() as session:
        chapter = await local_chapter(session, chapter_name)
        return await action_repo.calls_of_chapter(session, chapter.ap_id)
