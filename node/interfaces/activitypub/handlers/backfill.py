"""When a follow is accepted, read the chapter's outbox so its current calls show at once."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from node.federation.followups.queue import follow_up
from node.federation.resolver import ResolveError
from node.federation.transport import FetchError
from node.interfaces.activitypub.handlers.context import HandlerContext
from node.interfaces.activitypub.handlers.event import handle_event
from node.runtime.services import Services
from protocol.activities import parse_activity
from protocol.errors import ProtocolError
from protocol.ids import same_origin
from protocol.jsonld import as_list
from storage.repositories.follow_ups import NewFollowUp

log = logging.getLogger(__name__)

MAX_ITEMS = 50

#: The follow-up kind (node/federation/followups) that reads a newly followed chapter's outbox.
BACKFILL: Final = "backfill"


def backfill_follow_up(chapter_id: str, follow_id: str) -> NewFollowUp:
    """Read ``chapter_id``'s outbox once for our follow ``follow_id`` (just accepted)."""
    return follow_up(BACKFILL, follow_id, {"chapter": chapter_id}, about=chapter_id)


async def backfill(services: Services, payload: Mapping[str, Any]) -> None:
    """The ``backfill`` follow-up's handler."""
    await backfill_calls(services, str(payload["chapter"]))


async def backfill_calls(services: Services, chapter_id: str) -> None:
    """Apply the Create/Update{Event} items of the first outbox page, as if delivered.

    The page is fetched from the chapter's own origin and each item must be the chapter's
    own (same origin, attributed to it), so nothing here is taken on a third party's word.
    Raises ``ResolveError`` or ``FetchError`` when the chapter cannot be reached (the
    follow-up tries again later; items already applied are applied again harmlessly).
    """
    try:
        actor = await services.resolver.actor(chapter_id)
    except ResolveError as exc:
        log.info("backfill.no_actor", extra={"chapter": chapter_id, "error": str(exc)})
        raise
    if actor.outbox is None:
        return
    signer = await services.fetch_signer()
    try:
        collection = (await services.transport.get_json(actor.outbox, signer=signer)).document
        first = collection.get("first") if isinstance(collection, Mapping) else None
        if isinstance(first, str):
            if not same_origin(first, chapter_id):
                return
            page = (await services.transport.get_json(first, signer=signer)).document
        else:
            page = first
    except FetchError as exc:
        log.info("backfill.fetch_failed", extra={"chapter": chapter_id, "error": str(exc)})
        raise
    if not isinstance(page, Mapping):
        return
    for item in as_list(page.get("orderedItems"))[:MAX_ITEMS]:
        try:
            activity = parse_activity(item, allow_http=services.settings.allow_http)
        except ProtocolError:
            continue
        if activity.type not in {"Create", "Update"} or activity.actor != chapter_id:
            continue
        if not same_origin(activity.id, chapter_id):
            continue
        async with services.db.write() as session:
            ctx = HandlerContext(services, session)
            await handle_event(ctx, activity)
        ctx.wake()
