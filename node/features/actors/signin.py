"""Signing in to the web pages with a member's name and password.

Only members have passwords: chapters, campaigns and the instance actor are run by members and
never sign in themselves, so a name of another kind is refused like a wrong password (the
answer does not tell which part was wrong).
"""

from __future__ import annotations

from node.features.actors.directory import find_local_actor
from node.features.actors.passwords import check_password
from node.runtime.services import Services
from storage.models import LocalActor
from storage.models.states import ActorKind


async def authenticate(services: Services, name: str, password: str) -> LocalActor | None:
    """The member whose name (any case, surrounding spaces ignored) and password match."""
    actor = await find_local_actor(services, name.strip().lower())
    if (
        actor is None
        or actor.kind != ActorKind.MEMBER
        or not check_password(password, actor.password_hash)
    ):
        return None
    return actor
