"""Remote interaction, our side: a member of ours confirms a follow that another server sent them
to make (``/authorize_interaction?uri=...``, the template our WebFinger publishes).

Before the member confirms, they are shown whom they are about to follow: the actor's name and
handle from its own document (fetched through the resolver, so it is checked like any actor we
meet), never just the URI the other server put in the link.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from node.features.following.follow import FollowError, resolve_target
from node.federation.resolver import ResolveError
from node.federation.transport import Unreachable
from node.runtime.services import Services
from protocol.errors import N_, MalformedDocument
from protocol.ids import same_origin
from protocol.webfinger import parse_handle
from storage.models import Follow
from storage.repositories import actors as actor_repo
from storage.repositories import follows as follow_repo

#: The words for a server that did not answer (or that this node may not contact): the same as
#: the remote-follow form's (node/features/following/remote.py), never the client's error text.
UNREACHABLE = N_("{host} could not be reached; try again later")


class TargetRefused(FollowError):
    """``uri`` is not something one can follow: not a handle nor an actor URL (``malformed``,
    a ``TargetMalformed``), or no actor was found behind it."""

    #: Whether the text names no actor at all (the request was wrong, not the lookup).
    malformed: bool = False


class TargetMalformed(TargetRefused):
    """``uri`` is neither a handle nor an actor URL. A class of its own rather than an argument,
    so that every refusal is raised as ``TargetRefused(N_(...), **params)``."""

    malformed = True


class TargetUnreachable(FollowError):
    """The server named by ``uri`` gave no answer; ``host`` is the host as the URI names it."""

    def __init__(self, host: str) -> None:
        super().__init__(UNREACHABLE, host=host)
        self.host = host


@dataclass(frozen=True, slots=True)
class FollowTarget:
    """Whom a member is about to follow, as the confirmation page shows them."""

    id: str
    name: str
    handle: str
    local: bool
    state: str | None  # the member's follow of them already: pending, accepted, or None


def _host_of(uri: str) -> str:
    if uri.startswith(("http://", "https://")):
        return urlsplit(uri).netloc.lower()
    return parse_handle(uri).host


def _unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` came, through any wrapping, from a server that gave no answer."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, Unreachable):
            return True
        seen = seen.__cause__
    return False


async def describe_target(services: Services, follower_ap_id: str, uri: str) -> FollowTarget:
    """The actor behind ``uri`` (``acct:user@host``, ``user@host`` or an actor URL) for
    ``follower_ap_id`` to confirm following.

    Raises ``TargetRefused`` (``TargetMalformed`` for text that names no actor at all, else no actor
    found there) and ``TargetUnreachable`` when its server does not answer."""
    text = uri.strip()
    if not text:
        raise TargetMalformed(N_("give the account to follow (user@host or its URL)"))
    try:
        host = _host_of(text)
    except (MalformedDocument, ValueError) as exc:
        raise TargetMalformed.about(exc) from exc
    try:
        target_id = await resolve_target(services, text)
    except FollowError as exc:
        if _unreachable(exc):
            raise TargetUnreachable(host) from exc
        malformed = isinstance(exc.__cause__, MalformedDocument)
        raise (TargetMalformed if malformed else TargetRefused).about(exc) from exc
    if target_id == follower_ap_id:
        raise TargetRefused(N_("that is your own account"))
    if same_origin(target_id, services.settings.base_url):
        async with services.db.read() as session:
            local = await actor_repo.local_actor_by_ap_id(session, target_id)
            row = await follow_repo.follow_between(session, follower_ap_id, target_id)
        if local is None:
            raise TargetRefused(N_("no account {id} on this node"), id=target_id)
        handle = f"{local.name}@{services.ids.authority}"
        return FollowTarget(target_id, local.title or local.name, handle, True, _state(row))
    try:
        actor = await services.resolver.actor(target_id)
    except ResolveError as exc:
        if _unreachable(exc):
            raise TargetUnreachable(host) from exc
        raise TargetRefused.about(exc) from exc
    user = actor.preferred_username or actor.name or actor.id
    handle = f"{user}@{urlsplit(actor.id).netloc.lower()}"
    async with services.db.read() as session:
        row = await follow_repo.follow_between(session, follower_ap_id, actor.id)
    return FollowTarget(actor.id, (actor.name or user)[:100], handle, False, _state(row))


def _state(row: Follow | None) -> str | None:
    return row.state if row is not None else None
