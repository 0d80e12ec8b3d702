"""A member's own language for pages and e-mails (``local_actors.language``).

The setting wins over the browser's ``Accept-Language`` (node/runtime/i18n.py), so it holds
only a language the node ships complete catalogues for, or None (the browser's, then the
node's default).
"""

from __future__ import annotations

from node.features.actors.authz import NotFoundError
from node.runtime.i18n import shipped
from node.runtime.services import Services
from protocol.errors import N_, WordedError
from storage.models import LocalActor
from storage.models.states import ActorKind


class UnknownLanguage(WordedError):
    """A language the node has no complete catalogues for (worded with the tag it was given)."""


async def set_member_language(
    services: Services, member_id: int, language: str | None
) -> str | None:
    """Save the member's language (a shipped one, or None to follow the browser); the value
    saved is returned. An unshipped tag is refused rather than stored."""
    chosen = shipped(language) if language else None
    if language and chosen is None:
        raise UnknownLanguage(
            N_("{language!r} is not a language this node ships"), language=language
        )
    async with services.db.write() as session:
        actor = await session.get(LocalActor, member_id)
        if actor is None or actor.kind != ActorKind.MEMBER:
            raise NotFoundError(N_("no such member"))
        actor.language = chosen
    return chosen
