"""``Flag``: another server reports abuse to us; it lands in the moderation queue."""

from __future__ import annotations

from node.interfaces.activitypub.handlers.context import HandlerContext
from protocol.activities import Activity
from protocol.jsonld import as_list, id_of
from storage.repositories import moderation as moderation_repo

MAX_TARGETS = 50


async def handle_flag(ctx: HandlerContext, activity: Activity) -> None:
    targets = [
        t for t in (id_of(v) for v in as_list(activity.raw.get("object"))[:MAX_TARGETS]) if t
    ]
    content = activity.raw.get("content")
    await moderation_repo.add_flag(
        ctx.session,
        activity_id=activity.id,
        reporter=activity.actor,
        targets=targets,
        comment=content[:5000] if isinstance(content, str) else None,
        source="remote",
        now=ctx.services.clock.now(),
    )
