"""Invitations: an organiser makes a one-time sign-up link, a newcomer redeems it.

Only the token's SHA-256 is stored, so a leaked database does not leak working links. Redeeming
creates the member with the invitation's role in its chapter, sets the password and marks the
invitation used, after which the link answers "not valid" like an unknown one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from node.features.actors.authz import NotFoundError, Principal, require_organiser
from node.features.actors.local import create_actor, hash_token
from node.features.actors.passwords import hash_password
from node.runtime.services import Services
from protocol.errors import ChapterhouseError, MalformedDocument
from protocol.ids import validate_local_name
from storage.errors import StorageError
from storage.models import Invitation, LocalActor
from storage.models.states import ActorKind, Role
from storage.repositories import actors as actor_repo

INVITABLE_ROLES = frozenset({Role.MEMBER, Role.ORGANISER})
MIN_PASSWORD = 10


class InvitationRefused(ChapterhouseError):
    """The invitation cannot be made as asked (e.g. an unknown role); the message says why."""


class SignupRefused(ChapterhouseError):
    """The newcomer's name or password is refused; the message is shown on the sign-up form."""


@dataclass(frozen=True, slots=True)
class OpenInvitation:
    """An invitation that can still be redeemed, and the chapter it leads into."""

    invitation: Invitation
    chapter: LocalActor


async def create_invitation(
    services: Services, who: Principal, chapter: LocalActor, role: str
) -> str:
    """A fresh sign-up token for ``chapter`` (only organisers may invite); only its hash is kept."""
    if role not in INVITABLE_ROLES:
        raise InvitationRefused("role must be member or organiser")
    token = secrets.token_urlsafe(24)
    async with services.db.write() as session:
        await require_organiser(session, who, chapter)
        session.add(
            Invitation(
                token_sha256=hash_token(token),
                chapter_id=chapter.id,
                role=role,
                created_at=services.clock.now(),
            )
        )
    return token


async def open_invitation(services: Services, token: str) -> OpenInvitation:
    """The unused invitation behind ``token``; unknown and used links are refused alike."""
    async with services.db.read() as session:
        invitation = await actor_repo.invitation_by_token_hash(session, hash_token(token))
        chapter = await session.get(LocalActor, invitation.chapter_id) if invitation else None
    if invitation is None or chapter is None or invitation.used_at is not None:
        raise NotFoundError("this invitation link is not valid (or was already used)")
    return OpenInvitation(invitation, chapter)


async def redeem_invitation(
    services: Services, opened: OpenInvitation, name: str, password: str
) -> LocalActor:
    """Create the member ``name`` in the invitation's chapter and role, and use the invitation up.

    Any refusal (a bad name, a short password, a name already taken) is a ``SignupRefused``
    whose message goes back to the form.
    """
    try:
        validate_local_name(name)
    except MalformedDocument as exc:
        raise SignupRefused(str(exc)) from exc
    if len(password) < MIN_PASSWORD:
        raise SignupRefused(f"the password must have at least {MIN_PASSWORD} characters")
    try:
        created = await create_actor(
            services,
            name,
            ActorKind.MEMBER,
            role=opened.invitation.role,
            chapter=opened.chapter.name,
        )
    except (ChapterhouseError, ValueError, StorageError) as exc:
        raise SignupRefused(str(exc)) from exc
    except IntegrityError as exc:  # the same name taken by a sign-up racing this one
        raise SignupRefused(f"an actor named {name!r} already exists on this node") from exc
    async with services.db.write() as session:
        member = await actor_repo.local_actor_by_name(session, name)
        assert member is not None
        member.password_hash = hash_password(password)
        used = await session.get(Invitation, opened.invitation.id)
        assert used is not None
        used.used_at = services.clock.now()
    return created.actor
