"""A member's feed: the action calls of the chapters they follow, newest received first.

An organiser also sees what their chapter follows (the campaigns it joined): those calls are the
ones the organiser may adopt for the chapter, and the chapter itself has no feed of its own.
"""

from __future__ import annotations

from node.features.actors.authz import Principal
from node.features.calls.lifecycle import call_from_row
from node.features.calls.views import call_json
from node.runtime.services import Services
from storage.models.states import Role
from storage.repositories import actions as action_repo

#: Chapter roles whose holders see what the chapter follows.
ORGANISING = frozenset({Role.ORGANISER, Role.ADMIN})


async def feed_page(
    services: Services, who: Principal, *, page: int, per_page: int
) -> tuple[list[dict[str, object]], bool]:
    """One page of the feed, and whether another follows."""
    async with services.db.read() as session:
        organised = [
            chapter.ap_id
            for chapter, role in await action_repo.chapters_of(session, who.actor.id)
            if role in ORGANISING
        ]
        rows = await action_repo.feed(
            session,
            who.actor.ap_id,
            offset=(page - 1) * per_page,
            limit=per_page + 1,
            also_followed_by=organised,
        )
    items = [
        call_json(call_from_row(r, services), local=r.local_actor_id is not None)
        for r in rows[:per_page]
        if not services.blocks.silenced_host(r.chapter)  # silenced: kept, but out of feeds
    ]
    return items, len(rows) > per_page
