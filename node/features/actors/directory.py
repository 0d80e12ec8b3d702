"""Finding local actors by name, and what a signed-in person is to a chapter.

The web pages look actors up by the name in their URL and decide what to show by the
viewer's role; these reads live here so that no interface opens the database itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from node.features.actors.authz import (
    Forbidden,
    NotFoundError,
    Principal,
    principal_by_name,
    require_organiser,
)
from node.runtime.services import Services
from storage.models import LocalActor
from storage.repositories import actors as actor_repo


async def find_local_actor(services: Services, name: str) -> LocalActor | None:
    """The local actor (chapter, campaign, member or instance) with this name, if any."""
    async with services.db.read() as session:
        return await actor_repo.local_actor_by_name(session, name)


async def local_actors_of_kind(services: Services, kinds: Sequence[str]) -> list[LocalActor]:
    """Every local actor of these kinds, oldest first (the front page lists them in that order)."""
    async with services.db.read() as session:
        return await actor_repo.local_actors(session, kinds)


async def principal_or_none(services: Services, name: str) -> Principal | None:
    """The principal named by a session; ``None`` when that actor no longer exists."""
    async with services.db.read() as session:
        try:
            return await principal_by_name(session, name)
        except NotFoundError:
            return None


async def is_organiser(services: Services, who: Principal | None, chapter: LocalActor) -> bool:
    """Whether ``who`` may organise ``chapter`` (pages show organisers' links only to them)."""
    if who is None:
        return False
    async with services.db.read() as session:
        try:
            await require_organiser(session, who, chapter)
            return True
        except Forbidden:
            return False
