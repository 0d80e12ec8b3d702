"""Create/Update/Delete of action calls from the chapters our members follow, or that our
members take part in; a campaign call's Update also reaches the calls adopted from it here."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

from node.features.calls.adoption.follow import follow_campaign_call
from node.features.calls.remote import new_remote_call_values, remote_call_values
from node.features.impact import follow_ups
from node.features.impact.intake import apply_report, retract
from node.features.notifications.remote_changes import (
    tell_members_of_change,
    tell_members_of_deletion,
)
from node.federation.actor_rows import StaleActorDocument, store_actor_row
from node.interfaces.activitypub.handlers.context import HandlerContext
from node.interfaces.activitypub.handlers.notices import handle_notice, is_notice
from node.interfaces.activitypub.handlers.votes import handle_vote
from protocol.activities import Activity
from protocol.actors import ACTOR_TYPES, parse_actor
from protocol.errors import ProtocolError
from protocol.events import CANCELLED, parse_event
from protocol.impact import is_report, is_rollup, parse_report
from protocol.polls import looks_like_vote
from protocol.vocabulary import has_type
from storage.repositories import actions as action_repo
from storage.repositories import follows as follow_repo
from storage.repositories import gone as gone_repo
from storage.repositories import impact as impact_repo

log = logging.getLogger(__name__)

#: Marks our copy of a call its chapter deleted (Mobilizon deletes rather than cancels):
#: unlike a cancellation by Update, which a newer Update may undo, a Delete is final.
DELETED: Final = "chapterhouse:deletedCopy"


async def _wanted_here(ctx: HandlerContext, chapter: str, call_id: str) -> bool:
    """Calls are kept only from chapters that someone on this node follows, or when one of
    our members has answered the call (they must hear that it moved or was cancelled)."""
    return await follow_repo.followed_by_a_local_actor(
        ctx.session, chapter
    ) or await action_repo.has_commitment_to(ctx.session, call_id, chapter)


async def handle_note(ctx: HandlerContext, activity: Activity) -> None:
    """Impact reports from their chapter; rollups from other campaigns; votes on our polls."""
    obj = activity.object
    assert obj is not None
    services = ctx.services
    if is_report(obj):
        try:
            report = parse_report(obj, allow_http=services.settings.allow_http)
        except ProtocolError as exc:
            log.info("report.malformed", extra={"activity_id": activity.id, "error": str(exc)})
            return
        outcome = await apply_report(ctx.session, services, report, obj, activity.actor)
        if outcome == "unknown_call":  # fetch the call, then count: a durable follow-up
            await ctx.follow_up(follow_ups.report_call(obj, report, activity.actor))
        return
    if is_rollup(obj):  # its sources are fetched by follow-ups, never on the inbox worker
        item = await follow_ups.rollup(ctx.session, services, obj, activity.actor)
        if item is not None:
            await ctx.follow_up(item)
    elif looks_like_vote(obj):  # an answer to one of our calls' RSVP polls
        await handle_vote(ctx, activity)
    elif is_notice(obj):  # a chapter elsewhere answering our member (handlers/notices.py)
        await handle_notice(ctx, activity)


async def handle_event(ctx: HandlerContext, activity: Activity) -> None:
    """Create or Update of an Event: keep the newest version of calls we care about.

    Types are read as a set (AS2 allows a list): a report or rollup is a ``Note`` among its
    types, a call an ``Event`` among its types."""
    obj = activity.object
    if is_report(obj) or is_rollup(obj) or looks_like_vote(obj) or is_notice(obj):
        await handle_note(ctx, activity)
        return
    if obj is None or not has_type(obj, "Event"):
        # Most of what a node receives (every post of those it follows): a line at INFO for
        # each cost more than the rest of handling it (a formatted write per item).
        log.debug("event.ignored", extra={"activity_id": activity.id, "type": activity.object_type})
        return
    try:
        call = parse_event(activity.object, allow_http=ctx.services.settings.allow_http)
    except ProtocolError as exc:
        log.info("event.malformed", extra={"activity_id": activity.id, "error": str(exc)})
        return
    if call.chapter != activity.actor:  # also checked before storing; never trust one check
        return
    row = await action_repo.call_by_ap_id(ctx.session, call.id)
    version = call.updated or call.published
    if row is not None:
        if row.local_actor_id is not None or row.chapter != activity.actor:
            return
        if version < row.updated_at:
            return  # an older version arriving late changes nothing
        if isinstance(row.document, dict) and row.document.get(DELETED):
            return  # deleted by its chapter: final (a cancellation by Update is not)
        await tell_members_of_change(ctx.session, ctx.services, row, call, obj, key=activity.id)
        for key, value in remote_call_values(call, obj).items():
            setattr(row, key, value)
        # A campaign's call changed: the calls our chapters adopted from it follow.
        if await follow_campaign_call(ctx.session, ctx.services, row):
            ctx.queued_deliveries = True
        return
    if not await _wanted_here(ctx, call.chapter, call.id):
        log.info("event.unsolicited", extra={"activity_id": activity.id})
        return
    await action_repo.insert_call(
        ctx.session, new_remote_call_values(call, obj, ctx.services.clock.now())
    )


async def handle_delete(ctx: HandlerContext, activity: Activity) -> None:
    """Delete of a call: it shows as cancelled (members who planned to go need to know).
    Delete of a report: it is retracted from every total that counted it. Delete of the sender
    itself: the account is gone (its follows end, deliveries to it stop)."""
    if activity.object_id == activity.actor:
        await gone_repo.actor_gone(
            ctx.session, activity.actor, ctx.services.clock.now(), "deleted itself"
        )
        return
    report = await impact_repo.report(ctx.session, activity.object_id or "")
    if report is not None or (
        has_type(activity.object, "Tombstone")
        and has_type(activity.object, "Note", key="formerType")
    ):
        await retract(ctx.session, ctx.services, activity.object_id or "", activity.actor)
        return
    row = await action_repo.call_by_ap_id(ctx.session, activity.object_id or "")
    if row is None or row.local_actor_id is not None or row.chapter != activity.actor:
        return
    await tell_members_of_deletion(ctx.session, ctx.services, row, key=activity.id)
    doc = dict(row.document)
    doc["ical:status"] = CANCELLED
    doc[DELETED] = True
    row.document = doc
    row.status = CANCELLED
    row.updated_at = max(row.updated_at, ctx.services.clock.now())


async def handle_actor_update(ctx: HandlerContext, activity: Activity) -> None:
    """Update of the sender's own actor document (e.g. after a key rotation): keep it.

    Attribution was checked on arrival (only the actor itself may update itself), and
    ``parse_actor`` refuses inboxes, keys and collections moved to another origin.
    """
    assert activity.object is not None
    try:
        actor = parse_actor(activity.object, allow_http=ctx.services.settings.allow_http)
    except ProtocolError as exc:
        log.info("actor_update.malformed", extra={"activity_id": activity.id, "error": str(exc)})
        return
    if actor.id != activity.actor:
        return
    # A changed key id records the old one in superseded_keys, and a new key under the same
    # id records the old key as retired, in this transaction: the web process that verifies
    # signatures learns of either from the database, not from this memory.
    try:
        recorded = await store_actor_row(
            ctx.session,
            actor,
            dict(activity.object),
            ctx.services.clock.now(),
            retire_for=timedelta(seconds=ctx.services.settings.key_cache_seconds),
        )
    except StaleActorDocument as exc:  # it lists a key the actor already replaced
        log.info("actor_update.stale", extra={"activity_id": activity.id, "error": str(exc)})
        return
    resolver = ctx.services.resolver  # not yet committed: only forget here, never refuse
    for key_id in (recorded.key_id, actor.public_key_id):
        if key_id:
            resolver.forget_key(key_id)


async def handle_update(ctx: HandlerContext, activity: Activity) -> None:
    if activity.object is not None and activity.object_types & ACTOR_TYPES:
        await handle_actor_update(ctx, activity)
    else:
        await handle_event(ctx, activity)


async def handle_announce(ctx: HandlerContext, activity: Activity) -> None:
    """A relayed object: verified by its proof or refetched from its origin, by a follow-up."""
    obj: object = dict(activity.object) if activity.object is not None else activity.object_id
    if obj is not None:
        await ctx.follow_up(follow_ups.relayed(activity.id, activity.actor, obj))
