"""Moving a chapter to another node: the old node announces it (``Move``), and every node whose
actors followed the old chapter has them follow the new one.

The rule on both sides is the one Mastodon follows for accounts: a move counts only when the
*new* actor, fetched from its own origin, names the old one in ``alsoKnownAs`` (an import on the
new node sets it). The ``Move`` body is never trusted for that: anyone can write a ``target``.
The old node checks it before it announces; a receiving node checks it again, in a durable
follow-up (the fetch needs the network, never done inside the inbox's unit of work).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.notifications.kinds import Kind
from node.features.notifications.notify import notify
from node.federation.followups.queue import RetryLater, enqueue, follow_up
from node.federation.outbox.audience import follower_inboxes
from node.federation.outbox.publish import publish
from node.federation.resolver import ResolveError
from node.runtime.services import Services
from protocol.activities import build_follow, build_undo
from protocol.errors import N_, MalformedDocument, WordedError
from protocol.ids import parse_id, same_origin
from protocol.jsonld import CONTEXT, PUBLIC, as_list, id_of
from storage.models import LocalActor
from storage.models.follow import ACCEPTED, PENDING
from storage.models.states import GROUP_KINDS, ActorKind
from storage.repositories import actors as actor_repo
from storage.repositories import follows as follow_repo
from storage.repositories import moves as move_repo
from storage.repositories.follow_ups import NewFollowUp

log = logging.getLogger(__name__)

#: The follow-up kind that re-points this node's follows of a moved actor (key: the Move's id).
MOVE_FOLLOWERS: Final = "move_followers"


class MoveError(WordedError):
    """The move cannot be announced; the message (worded, with its data) says what to do."""


class MoveRetry(RetryLater, WordedError):
    """The ``move_followers`` follow-up is to be tried again later (``RetryLater``), worded
    with its data like every refusal of ours."""


@dataclass(frozen=True, slots=True)
class Announced:
    old: str
    new: str
    move_id: str
    inboxes: int


def build_move(activity_id: str, old: str, new: str, followers: str) -> dict[str, object]:
    """``Move{actor: old, object: old, target: new}``, addressed to the old actor's followers
    (as Mastodon sends it)."""
    return {
        "@context": CONTEXT,
        "id": activity_id,
        "type": "Move",
        "actor": old,
        "object": old,
        "target": new,
        "to": [followers],
        "cc": [PUBLIC],
    }


def names_in(document: object) -> set[str]:
    """The ids an actor document lists in ``alsoKnownAs`` (strings or embedded objects)."""
    if not isinstance(document, Mapping):
        return set()
    return {i for i in (id_of(v) for v in as_list(document.get("alsoKnownAs"))) if i}


async def target_names_origin(services: Services, old: str, new: str) -> bool:
    """Whether the actor ``new``, read from where it lives, lists ``old`` in ``alsoKnownAs``.
    A remote one is fetched afresh (a cached copy may predate the import); raises
    ``ResolveError`` when it cannot be fetched."""
    if same_origin(new, services.settings.base_url):
        async with services.db.read() as session:
            local = await actor_repo.local_actor_by_ap_id(session, new)
        return local is not None and old in as_list(local.also_known_as)
    await services.resolver.fetch_actor(new)
    async with services.db.read() as session:
        cached = await actor_repo.remote_actor(session, new)
    return cached is not None and old in names_in(cached.document)


def move_follow_up(move_id: str, old: str, new: str) -> NewFollowUp:
    """Re-point this node's follows of ``old`` to ``new``, once per ``Move``."""
    return follow_up(MOVE_FOLLOWERS, move_id, {"old": old, "new": new}, about=new)


async def announce_move(services: Services, name: str, to: str) -> Announced:
    """The old node's side: check the new actor names ours, record ``moved_to`` and send
    ``Move`` to every follower; our own actors that followed the chapter move too."""
    try:
        new = parse_id(to.strip(), allow_http=services.settings.allow_http)
    except MalformedDocument as exc:
        raise MoveError(N_("--to: {reason}"), reason=str(exc)) from exc
    async with services.db.read() as session:
        chapter = await actor_repo.local_actor_by_name(session, name)
    if chapter is None or chapter.kind not in GROUP_KINDS:
        raise MoveError(N_("no chapter named {name!r} on this node"), name=name)
    if new == chapter.ap_id:
        raise MoveError(N_("a chapter cannot move to itself"))
    try:
        named = await target_names_origin(services, chapter.ap_id, new)
    except ResolveError as exc:
        raise MoveError(N_("cannot read the new actor: {reason}"), reason=str(exc)) from exc
    if not named:
        raise MoveError(
            N_(
                "{new} does not list {old} in alsoKnownAs: import the chapter there "
                "first (`chapterhouse chapter import`), then announce the move"
            ),
            new=new,
            old=chapter.ap_id,
        )
    move_id = services.activity_id()
    async with services.db.write() as session:
        row = await actor_repo.local_actor_by_ap_id(session, chapter.ap_id)
        assert row is not None
        row.moved_to = new
        followers = services.ids.actor_part(row.name, "followers")
        inboxes = await follower_inboxes(session, services, row)
        await publish(
            session, services, row, build_move(move_id, row.ap_id, new, followers), inboxes
        )
        await enqueue(session, services, move_follow_up(move_id, row.ap_id, new))
    services.wakeups.deliveries.set()
    services.wakeups.follow_ups.set()
    return Announced(chapter.ap_id, new, move_id, len(inboxes))


async def move_followers(services: Services, payload: Mapping[str, Any]) -> None:
    """The ``move_followers`` follow-up: check the move, then have each of our actors that
    followed ``old`` follow ``new`` (a ``Follow`` delivery row each), drop the old follow (an
    ``Undo`` to the old actor) and tell the members. Idempotent: a follow already re-pointed
    is not found again."""
    old, new = str(payload["old"]), str(payload["new"])
    try:
        named = await target_names_origin(services, old, new)
    except ResolveError as exc:
        raise MoveRetry(N_("cannot read {actor}: {reason}"), actor=new, reason=str(exc)) from exc
    if not named:
        log.warning(
            "move.refused",
            extra={"old": old, "new": new, "reason": "the target does not name the origin"},
        )
        return
    local_target = same_origin(new, services.settings.base_url)
    async with services.db.write() as session:
        target_inbox = None
        approves = False
        if local_target:
            target = await actor_repo.local_actor_by_ap_id(session, new)
            if target is None:
                return
            approves = target.manually_approves_followers
        else:
            cached = await actor_repo.remote_actor(session, new)
            if cached is None:
                raise MoveRetry(N_("{actor} is not cached yet"), actor=new)
            target_inbox = cached.inbox
        old_inbox = None
        if not same_origin(old, services.settings.base_url):
            old_cached = await actor_repo.remote_actor(session, old)
            old_inbox = old_cached.inbox if old_cached is not None else None
        for row in await move_repo.local_follows_of(session, old):
            follower = await actor_repo.local_actor_by_ap_id(session, row.follower)
            if follower is None or follower.ap_id == new:
                continue
            await _repoint(session, services, follower, new, target_inbox, approves)
            if old_inbox is not None:
                undo = build_undo(
                    services.activity_id(),
                    follower.ap_id,
                    build_follow(row.activity_id, follower.ap_id, old),
                )
                await publish(session, services, follower, undo, [old_inbox])
            await follow_repo.remove_follow(session, follower.ap_id, old)
            if follower.kind == ActorKind.MEMBER:
                await notify(
                    session,
                    services,
                    recipient=follower.ap_id,
                    kind=Kind.CHAPTER_MOVED,
                    key=f"{old} {new}",
                    data={
                        "title": "A chapter you follow moved",
                        "text": f"{old} moved to {new}; you now follow it there.",
                        "url": new,
                        "old": old,
                        "new": new,
                    },
                )
            log.info("move.followed", extra={"follower": follower.ap_id, "old": old, "new": new})
    services.wakeups.deliveries.set()


async def _repoint(
    session: AsyncSession,
    services: Services,
    follower: LocalActor,
    new: str,
    target_inbox: str | None,
    approves: bool,
) -> None:
    """``follower`` follows ``new`` as it followed the old actor: a local target answers at
    once, a remote one gets a ``Follow`` (pending until its ``Accept``)."""
    existing = await follow_repo.follow_between(session, follower.ap_id, new)
    if existing is not None and existing.state == ACCEPTED:
        return
    activity_id = services.activity_id()
    state = ACCEPTED if target_inbox is None and not approves else PENDING
    await follow_repo.put_follow(
        session,
        activity_id=activity_id,
        follower=follower.ap_id,
        target=new,
        follower_inbox=None,
        state=state,
        now=services.clock.now(),
    )
    if target_inbox is not None:
        await publish(
            session,
            services,
            follower,
            build_follow(activity_id, follower.ap_id, new),
            [target_inbox],
        )
