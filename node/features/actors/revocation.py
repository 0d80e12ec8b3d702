"""Taking a member's access back: every browser session at once, or every API token.

Sessions live in encrypted cookies the node cannot reach, so each cookie carries the member's
``session_epoch`` at sign-in and a page load checks it (node/features/actors/signin.py): raising
the epoch signs every existing session out, while signing in again works as before.

API tokens are rows; revoking deletes them. The node-wide role (admin, organiser) is read from
a member's tokens (``strongest_role``), so revoking keeps that role on one fresh token whose
secret is dropped unseen, as sign-up does: the person stays an admin, no old token works.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.authz import NotFoundError
from node.features.actors.local import hash_token, new_token
from node.runtime.services import Services
from protocol.errors import N_
from storage.models import LocalActor
from storage.models.states import ActorKind
from storage.repositories import actors as actor_repo


async def _member(session: AsyncSession, name: str) -> LocalActor:
    member = await actor_repo.local_actor_by_name(session, name.strip().lower())
    if member is None or member.kind != ActorKind.MEMBER:
        raise NotFoundError(N_("no member named {name!r} on this node"), name=name.strip())
    return member


async def revoke_sessions(services: Services, name: str) -> LocalActor:
    """Sign the member ``name`` out of every browser; raises ``NotFoundError`` if unknown."""
    async with services.db.write() as session:
        member = await _member(session, name)
        await actor_repo.raise_session_epoch(session, member.id)
    return member


async def revoke_tokens(services: Services, name: str) -> int:
    """Make every API token of the member ``name`` stop working; returns how many there were.
    Raises ``NotFoundError`` if there is no such member."""
    async with services.db.write() as session:
        member = await _member(session, name)
        role = await actor_repo.strongest_role(session, member.id)
        count = await actor_repo.delete_tokens(session, member.id)
        if role is not None:
            unseen = hash_token(new_token())
            await actor_repo.add_token(session, member.id, role, unseen, services.clock.now())
    return count
