"""Signing in to the web pages with a member's name and password, and finding the member a
session cookie names.

Only members have passwords: chapters, campaigns and the instance actor are run by members and
never sign in themselves, so a name of another kind is refused like a wrong password (the
answer does not tell which part was wrong). Nor does its timing: every attempt that passes the
limits costs exactly one password verification, against a dummy hash when there is no real one.

The limits (node/features/actors/throttle.py) are checked before any work: too many attempts
from one address, or too many wrong passwords for one name, are refused with
``SignInThrottled`` (HTTP 429 with ``Retry-After``) whether or not the name exists.

A session cookie carries the member's id and their ``session_epoch`` at sign-in; raising the
epoch (node/features/actors/revocation.py) signs every such cookie out.
"""

from __future__ import annotations

import math

from node.features.actors.authz import Principal
from node.features.actors.directory import find_local_actor
from node.features.actors.passwords import hash_password_off_loop, verify_password_off_loop
from node.features.actors.throttle import SignInGuard, signin_guard
from node.runtime.services import Services
from protocol.errors import N_, WordedError
from storage.models import LocalActor
from storage.models.states import ActorKind, Role
from storage.repositories import actors as actor_repo

MAX_NAME = 64  # no local name is longer (LocalActor.name); longer ones are cut for the limit


class SignInThrottled(WordedError):
    """Too many attempts: the message is for the person (a marked wording, said in their
    language), ``retry_after`` in whole seconds."""

    def __init__(self, wording: str, wait: float, /, **params: object) -> None:
        super().__init__(wording, **params)
        self.retry_after = max(1, math.ceil(wait))


async def authenticate(
    services: Services, name: str, password: str, *, client: str
) -> LocalActor | None:
    """The member whose name (any case, surrounding spaces ignored) and password match.

    ``client`` is the address the attempt comes from. Raises ``SignInThrottled`` when it or the
    name has tried too often; a wrong password counts against the name until a success."""
    guard = signin_guard(services)
    account = name.strip().lower()[:MAX_NAME]
    wait = guard.per_address.take(client)
    if wait is not None:
        raise SignInThrottled(N_("Too many sign-in attempts from your network."), wait)
    wait = guard.per_account.wait(account)
    if wait is not None:
        raise SignInThrottled(N_("Too many wrong passwords for this name."), wait)
    guard.per_account.fail(account)  # charged before checking, so parallel attempts count too
    actor = await find_local_actor(services, account) if account else None
    member = actor if actor is not None and actor.kind == ActorKind.MEMBER else None
    stored = member.password_hash if member is not None else None
    async with guard.hashing:
        verdict = await verify_password_off_loop(password, stored)
    if member is None or not verdict.ok:
        return None
    guard.per_account.forgive(account)
    if verdict.rehash:
        await _upgrade_hash(services, guard, member, password)
    return member


async def _upgrade_hash(
    services: Services, guard: SignInGuard, member: LocalActor, password: str
) -> None:
    """Replace a legacy (scrypt) or weaker hash by a fresh argon2id one: hashed first, then a
    short write that keeps a password set meanwhile."""
    async with guard.hashing:
        fresh = await hash_password_off_loop(password)
    async with services.db.write() as session:
        if await actor_repo.replace_password_hash(session, member.id, member.password_hash, fresh):
            member.password_hash = fresh


async def session_principal(services: Services, member_id: int, epoch: int) -> Principal | None:
    """The member a session cookie names, or None when that cookie no longer signs anyone in:
    the actor is gone, is not a member, or its sessions were revoked since (another epoch)."""
    async with services.db.read() as session:
        actor = await session.get(LocalActor, member_id)
        if actor is None or actor.kind != ActorKind.MEMBER or actor.session_epoch != epoch:
            return None
        role = await actor_repo.strongest_role(session, actor.id)
    return Principal(actor, role or Role.MEMBER)
