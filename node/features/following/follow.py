"""Use cases of a local actor following others: follow, unfollow, list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from node.features.notifications.organisers import tell_follower_waiting
from node.federation.outbox.publish import publish
from node.federation.resolver import ResolveError
from node.runtime.services import Services
from protocol.activities import build_follow, build_undo
from protocol.errors import N_, ChapterhouseError, MalformedDocument, WordedError
from protocol.ids import parse_id, same_origin
from storage.models import Follow, LocalActor
from storage.models.follow import ACCEPTED, PENDING
from storage.repositories import actors as actor_repo
from storage.repositories import follows as follow_repo


class FollowError(WordedError):
    """The follow cannot be made; the message is meant for the person who asked (worded, so a
    page or the CLI says it in their language)."""

    @classmethod
    def about(cls, error: BaseException, /) -> Self:
        """``error`` (a lower layer's: an address, a lookup) as this refusal, keeping its
        wording and data when it has them; otherwise its English is looked up as it is."""
        if isinstance(error, ChapterhouseError) and error.wording is not None:
            return cls(error.wording, **error.params)
        return cls(str(error))


@dataclass(frozen=True, slots=True)
class FollowResult:
    target: str
    state: str
    activity_id: str


async def resolve_target(services: Services, handle_or_url: str) -> str:
    """An actor id from ``acct:user@host``, ``user@host`` or an actor URL."""
    text = handle_or_url.strip()
    if text.startswith(("http://", "https://")):
        try:
            return parse_id(text, allow_http=services.settings.allow_http)
        except MalformedDocument as exc:
            raise FollowError.about(exc) from exc
    local_authority = services.ids.authority
    bare = text.removeprefix("acct:").removeprefix("@")
    user, _, host = bare.rpartition("@")
    if host.lower() == local_authority and user:
        return services.ids.actor(user)
    try:
        return await services.resolver.webfinger(text)
    except ResolveError as exc:
        raise FollowError.about(exc) from exc


async def local_actor(services: Services, name: str) -> LocalActor:
    async with services.db.read() as session:
        actor = await actor_repo.local_actor_by_name(session, name)
    if actor is None:
        raise FollowError(N_("no local actor named {name!r}"), name=name)
    return actor


async def follow(services: Services, follower_name: str, handle_or_url: str) -> FollowResult:
    """Ask to follow an actor; remote targets answer later with Accept or Reject."""
    follower = await local_actor(services, follower_name)
    target_id = await resolve_target(services, handle_or_url)
    if target_id == follower.ap_id:
        raise FollowError(N_("an actor cannot follow itself"))
    activity_id = services.activity_id()
    now = services.clock.now()
    if same_origin(target_id, services.settings.base_url):
        async with services.db.write() as session:
            target = await actor_repo.local_actor_by_ap_id(session, target_id)
            if target is None:
                raise FollowError(N_("no local actor {id}"), id=target_id)
            state: str = PENDING if target.manually_approves_followers else ACCEPTED
            was = await follow_repo.follow_between(session, follower.ap_id, target_id)
            waiting = was is not None and was.state == PENDING  # the organisers were told
            await follow_repo.put_follow(
                session,
                activity_id=activity_id,
                follower=follower.ap_id,
                target=target_id,
                follower_inbox=None,
                state=state,
                now=now,
            )
            if state == PENDING and not waiting:
                await tell_follower_waiting(
                    session, services, target, follower.ap_id, key=activity_id
                )
        return FollowResult(target_id, state, activity_id)
    try:
        target_actor = await services.resolver.actor(target_id)
    except ResolveError as exc:
        raise FollowError.about(exc) from exc
    activity = build_follow(activity_id, follower.ap_id, target_actor.id)
    async with services.db.write() as session:
        existing = await follow_repo.follow_between(session, follower.ap_id, target_actor.id)
        state = existing.state if existing is not None and existing.state == ACCEPTED else PENDING
        await follow_repo.put_follow(
            session,
            activity_id=activity_id,
            follower=follower.ap_id,
            target=target_actor.id,
            follower_inbox=None,
            state=state,
            now=now,
        )
        await publish(session, services, follower, activity, [target_actor.inbox])
    services.wakeups.deliveries.set()
    return FollowResult(target_actor.id, state, activity_id)


async def unfollow(services: Services, follower_name: str, handle_or_url: str) -> FollowResult:
    """Withdraw a follow (sends Undo{Follow} to remote targets)."""
    follower = await local_actor(services, follower_name)
    target_id = await resolve_target(services, handle_or_url)
    async with services.db.write() as session:
        row = await follow_repo.follow_between(session, follower.ap_id, target_id)
        if row is None:
            raise FollowError(
                N_("{follower} does not follow {target}"), follower=follower_name, target=target_id
            )
        follow_activity = build_follow(row.activity_id, follower.ap_id, target_id)
        await follow_repo.remove_follow(session, follower.ap_id, target_id)
        undo_id = services.activity_id()
        if not same_origin(target_id, services.settings.base_url):
            cached = await actor_repo.remote_actor(session, target_id)
            if cached is not None:
                undo = build_undo(undo_id, follower.ap_id, follow_activity)
                await publish(session, services, follower, undo, [cached.inbox])
    services.wakeups.deliveries.set()
    return FollowResult(target_id, "removed", undo_id)


async def following(services: Services, follower_name: str) -> list[Follow]:
    follower = await local_actor(services, follower_name)
    async with services.db.read() as session:
        return await follow_repo.following_page(
            session, follower.ap_id, offset=0, limit=10_000, accepted_only=False
        )
