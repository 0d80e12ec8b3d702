"""``Move``: a remote actor this node's actors follow says it now lives elsewhere.

Only the shape is checked here (the inbox already checked the signature: the sender is
``actor``): the actor moves itself (``object`` is the actor) to some other ``target``, and one of
our actors follows it. Whether the target really is the same chapter (it names the old actor in
``alsoKnownAs``) needs a fetch, so it is checked by the ``move_followers`` follow-up
(``node/features/actors/move.py``), which alone changes anything. A refused Move is logged with
its reason and changes nothing.
"""

from __future__ import annotations

import logging

from node.features.actors.move import move_follow_up
from node.interfaces.activitypub.handlers.context import HandlerContext
from protocol.activities import Activity
from protocol.errors import MalformedDocument
from protocol.ids import parse_id, same_origin
from protocol.jsonld import id_of
from storage.repositories import moves as move_repo

log = logging.getLogger(__name__)


def _ignore(activity: Activity, reason: str) -> None:
    log.warning("move.ignored", extra={"activity_id": activity.id, "reason": reason})


async def handle_move(ctx: HandlerContext, activity: Activity) -> None:
    services = ctx.services
    if activity.object_id != activity.actor:
        _ignore(activity, "the actor does not move itself (actor is not the object)")
        return
    raw_target = id_of(activity.raw.get("target"))
    if raw_target is None:
        _ignore(activity, "no target")
        return
    try:
        target = parse_id(raw_target, allow_http=services.settings.allow_http)
    except MalformedDocument:
        _ignore(activity, "the target is not a usable id")
        return
    if target == activity.actor:
        _ignore(activity, "the target is the actor itself")
        return
    if same_origin(activity.actor, services.settings.base_url):
        _ignore(activity, "a local actor's move is announced here, not received")
        return
    if not await move_repo.local_follows_of(ctx.session, activity.actor):
        log.info("move.not_followed", extra={"activity_id": activity.id})
        return
    await ctx.follow_up(move_follow_up(activity.id, activity.actor, target))
