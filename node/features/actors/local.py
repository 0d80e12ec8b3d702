"""Creating local actors (chapters, campaigns, members, the instance actor) and their tokens,
and rendering their ActivityPub documents."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.authz import NotFoundError
from node.features.actors.chapter_profile import apply_changes, stored_profile
from node.features.following.membership import follow_home
from node.federation.outbox.audience import follower_inboxes
from node.federation.outbox.publish import publish
from node.runtime.services import INSTANCE_ACTOR, Services
from protocol.activities import build_update
from protocol.actors import ActorSpec, Multikey, build_actor
from protocol.chapter_profile import profile_fields
from protocol.errors import N_, MalformedDocument, WordedError
from protocol.ids import IdFactory, validate_local_name
from protocol.keys import (
    ed25519_public_to_multibase,
    generate_ed25519_key,
    generate_rsa_key,
    private_key_to_pem,
    public_key_to_pem,
)
from protocol.localtime import zone_info
from protocol.timefmt import format_xsd_datetime
from storage.models import LocalActor
from storage.models.states import GROUP_KINDS, ActorKind, Role
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo

ROLES = tuple(Role)
KINDS = {"chapter": "Group", "campaign": "Group", "member": "Person", "instance": "Application"}


class NoSuchChapter(NotFoundError, ValueError):
    """No local chapter (or campaign) of that name. A ``NotFoundError``, worded with the name
    so the CLI and pages say it in their reader's language; a ``ValueError`` too, as the
    callers of ``update_chapter`` and ``store_local_actor`` have always caught it."""


class ActorRefused(WordedError, ValueError):
    """A local actor cannot be made or changed as asked (an unknown role or kind, a setting
    its kind has no use for). Worded with its data, so the CLI and the API say it in their
    reader's language; a ``ValueError`` too, as the CLI and the API have always caught it."""


@dataclass(frozen=True, slots=True)
class Created:
    actor: LocalActor
    token: str | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return "chp_" + secrets.token_urlsafe(32)


async def create_actor(
    services: Services,
    name: str,
    kind: str,
    *,
    title: str | None = None,
    summary: str | None = None,
    approve_followers: bool = False,
    role: str | None = None,
    chapter: str | None = None,
    timezone: str | None = None,
    profile: Mapping[str, object] | None = None,
) -> Created:
    """Create a local actor with fresh RSA-2048 and Ed25519 keys, and a token if a role is given.

    ``timezone`` (chapters and campaigns) is the IANA zone their calls' times are read and
    shown in when a call gives none; ``profile`` their place, languages and topics (keys of
    ``chapter_profile.PROFILE_KEYS``), validated before anything is stored."""
    if role is not None and role not in ROLES:
        raise ActorRefused(N_("role must be one of {roles}"), roles=", ".join(ROLES))
    actor = new_local_actor(
        services, name, kind, title=title, summary=summary, approve_followers=approve_followers
    )
    if timezone is not None:
        actor.timezone = chapter_zone(actor, timezone)
    if profile:
        if actor.kind not in GROUP_KINDS:
            raise ActorRefused(
                N_("{name} is not a chapter or a campaign: it has no place or topics"), name=name
            )
        apply_changes(actor, profile)
    async with services.db.write() as session:
        token = await store_local_actor(session, actor, role=role, chapter=chapter)
        if chapter is not None and kind == ActorKind.MEMBER:
            await follow_home(session, services, actor, services.ids.actor(chapter))
    return Created(actor, token)


def new_local_actor(
    services: Services,
    name: str,
    kind: str,
    *,
    title: str | None = None,
    summary: str | None = None,
    approve_followers: bool = False,
) -> LocalActor:
    """A local actor with fresh keys, not stored yet: the keys are made before any transaction
    opens, so a caller can store the actor in a transaction that does more (a sign-up)."""
    if kind not in KINDS:
        raise ActorRefused(N_("unknown actor kind {kind!r}"), kind=kind)
    validate_local_name(name)
    rsa_key = generate_rsa_key(2048)
    ed_key = generate_ed25519_key()
    now = services.clock.now()
    actor = LocalActor(
        name=name,
        ap_id=services.ids.actor(name),
        actor_type=KINDS[kind],
        kind=kind,
        title=title,
        summary=summary,
        manually_approves_followers=approve_followers,
        rsa_private_pem=private_key_to_pem(rsa_key),
        rsa_public_pem=public_key_to_pem(rsa_key.public_key()),
        ed25519_private_pem=private_key_to_pem(ed_key),
        ed25519_public_multibase=ed25519_public_to_multibase(ed_key.public_key()),
        created_at=now,
    )
    return actor


def chapter_zone(actor: LocalActor, zone: str) -> str:
    """``zone`` checked for ``actor``: a known IANA name, on a chapter or a campaign."""
    if actor.kind not in GROUP_KINDS:
        raise ActorRefused(
            N_("{name} is not a chapter or a campaign: it has no time zone"), name=actor.name
        )
    try:
        zone_info(zone)
    except MalformedDocument as exc:
        raise ActorRefused(N_("timezone: {reason}"), reason=str(exc)) from exc
    return zone


async def update_chapter(
    services: Services,
    name: str,
    *,
    timezone: str | None = None,
    title: str | None = None,
    summary: str | None = None,
    profile: Mapping[str, object] | None = None,
) -> LocalActor:
    """Change a chapter's (or campaign's) settings; only those given change. A new title,
    summary or profile (place, area, languages, topics: ``chapter_profile.apply_changes``)
    changes the actor document, so followers get an Update of it."""
    if timezone is None and title is None and summary is None and not profile:
        raise ActorRefused(
            N_("nothing to change: give --timezone, --title, --summary or a profile")
        )
    async with services.db.write() as session:
        actor = await actor_repo.local_actor_by_name(session, name)
        if actor is None or actor.kind not in GROUP_KINDS:
            raise NoSuchChapter(N_("no chapter named {name!r} on this node"), name=name)
        if timezone is not None:
            actor.timezone = chapter_zone(actor, timezone)
        public = (title is not None and title != actor.title) or (
            summary is not None and summary != actor.summary
        )
        if title is not None:
            actor.title = title
        if summary is not None:
            actor.summary = summary
        if profile and apply_changes(actor, profile):
            public = True
        await session.flush()
        if public:
            doc = actor_document(services.ids, actor)
            update = build_update(services.activity_id(), actor.ap_id, doc)
            await publish(
                session, services, actor, update, await follower_inboxes(session, services, actor)
            )
    if public:
        services.wakeups.deliveries.set()
    return actor


async def store_local_actor(
    session: AsyncSession,
    actor: LocalActor,
    *,
    role: str | None = None,
    chapter: str | None = None,
) -> str | None:
    """Add ``actor`` in the caller's transaction, with a token for ``role`` and a membership of
    ``chapter``; returns the token (None without a role)."""
    now = actor.created_at
    token = None
    await actor_repo.add_local_actor(session, actor)
    if role is not None:
        token = new_token()
        await actor_repo.add_token(session, actor.id, role, hash_token(token), now)
    if chapter is not None:
        home = await actor_repo.local_actor_by_name(session, chapter)
        if home is None or home.kind not in GROUP_KINDS:
            raise NoSuchChapter(N_("no chapter named {name!r} on this node"), name=chapter)
        await action_repo.set_membership(session, actor.id, home.id, role or Role.MEMBER, now)
    return token


async def issue_token(services: Services, actor: LocalActor, role: str) -> str:
    if role not in ROLES:
        raise ActorRefused(N_("role must be one of {roles}"), roles=", ".join(ROLES))
    token = new_token()
    async with services.db.write() as session:
        await actor_repo.add_token(session, actor.id, role, hash_token(token), services.clock.now())
    return token


async def ensure_instance_actor(services: Services) -> LocalActor:
    async with services.db.read() as session:
        existing = await actor_repo.local_actor_by_name(session, INSTANCE_ACTOR)
    if existing is not None:
        return existing
    return (
        await create_actor(
            services, INSTANCE_ACTOR, ActorKind.INSTANCE, title=services.settings.node_name
        )
    ).actor


def actor_document(ids: IdFactory, actor: LocalActor) -> dict[str, object]:
    """The published JSON-LD document of a local actor."""
    actor_id = ids.actor(actor.name)
    spec = ActorSpec(
        id=actor_id,
        type=actor.actor_type,
        preferred_username=actor.name,
        name=actor.title or actor.name,
        summary=actor.summary,
        url=actor_id,
        inbox=ids.actor_part(actor.name, "inbox"),
        outbox=ids.actor_part(actor.name, "outbox"),
        followers=ids.actor_part(actor.name, "followers"),
        following=ids.actor_part(actor.name, "following"),
        shared_inbox=ids.shared_inbox(),
        public_key_id=ids.main_key(actor.name),
        public_key_pem=actor.rsa_public_pem,
        assertion_method=Multikey(
            ids.ed25519_key(actor.name), actor_id, actor.ed25519_public_multibase
        ),
        manually_approves_followers=actor.manually_approves_followers,
        kind=actor.kind if actor.kind in GROUP_KINDS else None,
        published=format_xsd_datetime(actor.created_at),
    )
    doc = build_actor(spec)
    if actor.moved_to:  # where a moved chapter went (node/features/actors/move.py)
        doc["movedTo"] = actor.moved_to
    if actor.also_known_as:  # what an imported chapter was
        doc["alsoKnownAs"] = list(actor.also_known_as)
    if actor.kind in GROUP_KINDS:
        doc.update(profile_fields(stored_profile(actor), tag_base=tag_base(ids)))
    if actor.kind == ActorKind.CAMPAIGN:  # its member chapters (activitypub/campaign_chapters.py)
        doc["chapterhouse:chapters"] = ids.actor_part(actor.name, "chapters")
    return doc


def tag_base(ids: IdFactory) -> str:
    """Where our hashtags point: ``/tags/{topic}`` under the node."""
    return ids.url("tags")


async def rotate_keys(services: Services, name: str, *, assertion: bool = False) -> LocalActor:
    """A new RSA (HTTP signature) key for a local actor; its followers get an Update of the actor.

    Deliveries already queued are signed at send time, so they go out with the new key;
    receivers whose cached key then fails refetch it (and the Update refreshes it anyway).
    The Ed25519 assertion key signs objects that must stay verifiable for years (reports a
    rollup counts), so it changes only when asked (``assertion=True``), e.g. after a leak:
    proofs made with the old key stop verifying.
    """
    rsa_key = generate_rsa_key(2048)
    ed_key = generate_ed25519_key() if assertion else None
    async with services.db.write() as session:
        actor = await actor_repo.local_actor_by_name(session, name)
        if actor is None:
            raise ActorRefused(N_("no local actor named {name!r}"), name=name)
        actor.rsa_private_pem = private_key_to_pem(rsa_key)
        actor.rsa_public_pem = public_key_to_pem(rsa_key.public_key())
        if ed_key is not None:
            actor.ed25519_private_pem = private_key_to_pem(ed_key)
            actor.ed25519_public_multibase = ed25519_public_to_multibase(ed_key.public_key())
        await session.flush()
        doc = actor_document(services.ids, actor)
        update = build_update(services.activity_id(), actor.ap_id, doc)
        inboxes = await follower_inboxes(session, services, actor)
        await publish(session, services, actor, update, inboxes)
    services.wakeups.deliveries.set()
    return actor
