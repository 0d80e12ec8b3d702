"""Who may do what: node admins, chapter organisers, members."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from protocol.errors import N_, WordedError
from storage.models import LocalActor
from storage.models.states import GROUP_KINDS, Role
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo


class Forbidden(WordedError):
    """The actor is known but lacks the role for this. Raised with a marked wording and its
    data (``Forbidden(N_("{who} is ..."), who=...)``) it is said in the reader's language."""


class NotFoundError(WordedError):
    """The named thing does not exist on this node (worded like ``Forbidden``)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated local actor and its node-wide role."""

    actor: LocalActor
    role: str  # member, organiser, admin (node-wide; chapter roles come from memberships)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


async def principal_by_name(session: AsyncSession, name: str) -> Principal:
    """The CLI acts ``--as`` a named local actor, with that actor's strongest node role."""
    actor = await actor_repo.local_actor_by_name(session, name)
    if actor is None:
        raise NotFoundError(N_("no local actor named {name!r}"), name=name)
    role = await actor_repo.strongest_role(session, actor.id)
    return Principal(actor, role or Role.MEMBER)


async def local_chapter(session: AsyncSession, name: str) -> LocalActor:
    chapter = await actor_repo.local_actor_by_name(session, name)
    if chapter is None or chapter.kind not in GROUP_KINDS:
        raise NotFoundError(N_("no chapter named {name!r} on this node"), name=name)
    return chapter


async def require_organiser(session: AsyncSession, who: Principal, chapter: LocalActor) -> None:
    """Organisers (and admins) of a chapter may publish and edit its action calls."""
    if who.is_admin:
        return
    membership = await action_repo.membership(session, who.actor.id, chapter.id)
    if (
        membership is not None
        and membership.active
        and membership.role in {Role.ORGANISER, Role.ADMIN}
    ):
        return
    raise Forbidden(
        N_("{who} is not an organiser of {chapter}"), who=who.actor.name, chapter=chapter.name
    )
