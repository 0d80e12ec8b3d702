"""One handler module per activity type; ``dispatch`` picks the handler.

Handlers run inside the inbox worker's unit of work and must be idempotent: a replayed
activity leaves the database as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from node.interfaces.activitypub.handlers.context import HandlerContext
from node.interfaces.activitypub.handlers.event import (
    handle_announce,
    handle_delete,
    handle_event,
    handle_update,
)
from node.interfaces.activitypub.handlers.flag import handle_flag
from node.interfaces.activitypub.handlers.follow import (
    handle_accept,
    handle_follow,
    handle_reject,
    handle_undo,
)
from node.interfaces.activitypub.handlers.join import handle_join, handle_leave
from node.interfaces.activitypub.handlers.move import handle_move
from protocol.activities import Activity

log = logging.getLogger(__name__)

Handler = Callable[[HandlerContext, Activity], Awaitable[None]]

HANDLERS: dict[str, Handler] = {
    "Follow": handle_follow,
    "Accept": handle_accept,
    "Reject": handle_reject,
    "Undo": handle_undo,
    "Create": handle_event,
    "Update": handle_update,
    "Delete": handle_delete,
    "Join": handle_join,
    "Announce": handle_announce,
    "Flag": handle_flag,
    "Leave": handle_leave,
    "Move": handle_move,
}


async def dispatch(ctx: HandlerContext, activity: Activity) -> None:
    handler = HANDLERS.get(activity.type)
    if handler is None:
        log.info("inbox.ignored", extra={"activity_id": activity.id, "type": activity.type})
        return
    await handler(ctx, activity)
