"""The node admin's page: who has which role, how delivery is going, blocks and flags (open,
and the latest resolved, with who resolved them, when and how).

Admins also give members roles in chapters (the web form; the CLI gives roles when it creates
actors) and send dead deliveries round again once a peer is back (resolving flags is in
``flags``, which checks for itself). Every step here trusts that the caller has checked the
person is an admin.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from node.features.actors.authz import NotFoundError
from node.features.following.membership import follow_home
from node.runtime.services import INSTANCE_ACTOR, Services
from protocol.errors import N_, WordedError
from storage.models import DomainBlock, Flag, LocalActor
from storage.models.states import GROUP_KINDS, ActorKind, Role
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo
from storage.repositories import delivery_admin
from storage.repositories import moderation as moderation_repo
from storage.repositories.delivery_admin import DeliveryView

CHAPTER_ROLES = frozenset(Role)


class RoleRefused(WordedError):
    """The role asked for is not one a member can hold in a chapter."""


@dataclass(frozen=True, slots=True)
class AdminOverview:
    actors: list[tuple[LocalActor, str | None]]  # every local actor but the instance actor
    queue: dict[str, int]  # deliveries per state, as the metrics report them
    deliveries: list[DeliveryView]  # the newest failing or dead deliveries
    blocks: list[DomainBlock]
    flags: list[Flag]  # open flags
    resolved: list[Flag] = field(default_factory=list)  # the latest resolved flags


async def admin_overview(
    services: Services, *, deliveries: int = 50, resolved: int = 20
) -> AdminOverview:
    """What the admin page lists, read in one transaction so its numbers agree."""
    async with services.db.read() as session:
        actors = await actor_repo.local_actors(session)
        roles = [
            (a, await actor_repo.strongest_role(session, a.id))
            for a in actors
            if a.name != INSTANCE_ACTOR
        ]
        queue = await delivery_admin.queue_counts(session)
        rows = await delivery_admin.list_deliveries(
            session, states={"failing", "dead"}, limit=deliveries
        )
        blocks = await moderation_repo.domain_blocks(session)
        flags = await moderation_repo.flags(session)
        closed = await moderation_repo.resolved_flags(session, resolved)
    return AdminOverview(roles, queue, rows, blocks, flags, closed)


async def grant_role(
    services: Services, member_name: str, chapter_name: str, role: str
) -> tuple[LocalActor, LocalActor]:
    """Make the member ``member_name`` a ``role`` of the chapter or campaign ``chapter_name``.

    Returns (member, chapter). Raises ``RoleRefused`` for an unknown role and ``NotFoundError``
    when either name is not a local actor of the right kind.
    """
    if role not in CHAPTER_ROLES:
        raise RoleRefused(N_("role must be member, organiser or admin"))
    async with services.db.write() as session:
        member = await actor_repo.local_actor_by_name(session, member_name.strip())
        chapter = await actor_repo.local_actor_by_name(session, chapter_name.strip())
        if member is None or member.kind != ActorKind.MEMBER:
            raise NotFoundError(N_("no such member on this node"))
        if chapter is None or chapter.kind not in GROUP_KINDS:
            raise NotFoundError(N_("no such chapter on this node"))
        await action_repo.set_membership(session, member.id, chapter.id, role, services.clock.now())
        await follow_home(session, services, member, chapter.ap_id)  # who belongs, follows
    return member, chapter


async def retry_dead_deliveries(services: Services) -> int:
    """Give every dead delivery a fresh start and wake the sender; returns how many."""
    async with services.db.write() as session:
        count = await delivery_admin.requeue(session, all_dead=True, now=services.clock.now())
    services.wakeups.deliveries.set()
    return count
