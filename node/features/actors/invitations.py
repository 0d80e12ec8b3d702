"""Invitations: an organiser makes a one-time sign-up link, a newcomer redeems it.

Only the token's SHA-256 is stored, so a leaked database does not leak working links. A link
expires after ``invitation_days`` (links made before expiry existed count from their creation).

Redeeming does the slow parts first (the password hash, the actor's keys, in worker threads),
then one short transaction claims the invitation with a conditional UPDATE and creates the
member: of two sign-ups racing with one link, exactly one claims it; the other is told the link
is gone (``InvitationGone``, HTTP 410), and nothing of it is stored.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from node.features.actors.authz import NotFoundError, Principal, require_organiser
from node.features.actors.local import hash_token, new_local_actor, store_local_actor
from node.features.actors.passwords import hash_password_off_loop
from node.features.actors.throttle import signin_guard
from node.features.following.membership import follow_home
from node.runtime.services import Services
from protocol.errors import N_, ChapterhouseError, MalformedDocument, WordedError
from protocol.ids import validate_local_name
from storage.errors import AlreadyExists, StorageError
from storage.models import Invitation, LocalActor
from storage.models.states import ActorKind, Role
from storage.repositories import actors as actor_repo

INVITABLE_ROLES = frozenset({Role.MEMBER, Role.ORGANISER})
MIN_PASSWORD = 10
GONE = N_("this invitation was already used or has expired; ask an organiser for a new link")


class InvitationRefused(WordedError):
    """The invitation cannot be made as asked (e.g. an unknown role); the message says why."""


class InvitationGone(WordedError):
    """The invitation was used or has expired (HTTP 410)."""


class SignupRefused(WordedError):
    """The newcomer's name or password is refused; the message is shown on the sign-up form
    (worded, so the form says it in the newcomer's language)."""

    @classmethod
    def about(cls, error: Exception) -> SignupRefused:
        """``error`` (a lower layer's refusal) as a sign-up refusal, keeping its wording and
        data when it has them; otherwise its English is looked up as it is."""
        if isinstance(error, ChapterhouseError) and error.wording is not None:
            return cls(error.wording, **error.params)
        return cls(str(error))


@dataclass(frozen=True, slots=True)
class OpenInvitation:
    """An invitation that can still be redeemed, and the chapter it leads into."""

    invitation: Invitation
    chapter: LocalActor


def _life(services: Services) -> timedelta:
    return timedelta(days=services.settings.invitation_days)


def expires_at(services: Services, invitation: Invitation) -> datetime:
    """When ``invitation`` stops working (legacy links: their creation plus today's life)."""
    return invitation.expires_at or invitation.created_at + _life(services)


async def create_invitation(
    services: Services, who: Principal, chapter: LocalActor, role: str
) -> str:
    """A fresh sign-up token for ``chapter`` (only organisers may invite); only its hash is kept.
    It expires ``invitation_days`` from now."""
    if role not in INVITABLE_ROLES:
        raise InvitationRefused(N_("role must be member or organiser"))
    token = secrets.token_urlsafe(24)
    now = services.clock.now()
    async with services.db.write() as session:
        await require_organiser(session, who, chapter)
        session.add(
            Invitation(
                token_sha256=hash_token(token),
                chapter_id=chapter.id,
                role=role,
                created_at=now,
                expires_at=now + _life(services),
            )
        )
    return token


async def open_invitation(services: Services, token: str) -> OpenInvitation:
    """The invitation behind ``token`` if it can still be redeemed. An unknown link raises
    ``NotFoundError``; a used or expired one ``InvitationGone``."""
    async with services.db.read() as session:
        invitation = await actor_repo.invitation_by_token_hash(session, hash_token(token))
        chapter = await session.get(LocalActor, invitation.chapter_id) if invitation else None
    if invitation is None or chapter is None:
        raise NotFoundError(N_("this invitation link is not valid"))
    if invitation.used_at is not None or expires_at(services, invitation) <= services.clock.now():
        raise InvitationGone(GONE)
    return OpenInvitation(invitation, chapter)


async def redeem_invitation(
    services: Services, opened: OpenInvitation, name: str, password: str
) -> LocalActor:
    """Create the member ``name`` in the invitation's chapter and role, and use the invitation up,
    in one transaction.

    Any refusal (a bad name, a short password, a name already taken) is a ``SignupRefused``
    whose message goes back to the form; a link used or expired meanwhile is ``InvitationGone``.
    """
    try:
        validate_local_name(name)
    except MalformedDocument as exc:
        raise SignupRefused.about(exc) from exc
    if len(password) < MIN_PASSWORD:
        raise SignupRefused(
            N_("the password must have at least {count} characters"), count=MIN_PASSWORD
        )
    async with signin_guard(services).hashing:
        password_hash = await hash_password_off_loop(password)
    member = await asyncio.to_thread(new_local_actor, services, name, ActorKind.MEMBER)
    member.password_hash = password_hash
    now = services.clock.now()
    try:
        async with services.db.write() as session:
            claimed = await actor_repo.claim_invitation(
                session, opened.invitation.id, now, now - _life(services)
            )
            if not claimed:
                raise InvitationGone(GONE)
            await store_local_actor(
                session, member, role=opened.invitation.role, chapter=opened.chapter.name
            )
            await follow_home(session, services, member, opened.chapter.ap_id)
    except (AlreadyExists, IntegrityError) as exc:  # taken, maybe by a sign-up racing this one
        raise SignupRefused(
            N_("an actor named {name!r} already exists on this node"), name=name
        ) from exc
    except (ValueError, StorageError) as exc:  # the chapter has gone
        raise SignupRefused.about(exc) from exc
    return member
