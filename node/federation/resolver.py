"""Remote actors and their keys: served from the cache, fetched (signed) on a miss.

A key counts only if the actor document that lists it is served from the actor's own id,
so a key id cannot be borrowed by another actor or another origin.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from node.federation.transport import JRD_TYPES, FetchError, Signer, Transport
from node.runtime.clock import Clock
from node.runtime.config import Settings
from protocol.actors import RFC9421_HREF, Actor, parse_actor
from protocol.errors import ChapterhouseError, MalformedDocument, ProtocolError
from protocol.ids import authority_of, origin_of, parse_id, same_origin
from protocol.keys import PublicKey, public_key_from_pem
from protocol.webfinger import JRD_JSON, actor_id_from_jrd, parse_handle, webfinger_url
from storage.engine import Database
from storage.models import RemoteActor
from storage.models.domain import YES
from storage.repositories import actors as actor_repo
from storage.repositories import domains as domain_repo

log = logging.getLogger(__name__)

KEY_CACHE_SIZE = 10_000
NEGATIVE_CACHE = timedelta(minutes=5)


class ResolveError(ChapterhouseError):
    """An actor or key could not be obtained or did not check out."""


@dataclass(frozen=True, slots=True)
class ResolvedKey:
    key_id: str
    owner: str
    public_key: PublicKey
    fetched: bool  # True when just fetched; a failure with a cached key warrants a refetch


def _without_fragment(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(fragment=""))


def actor_row_values(actor: Actor, document: object, now: datetime) -> dict[str, Any]:
    return {
        "ap_id": actor.id,
        "actor_type": actor.type,
        "preferred_username": actor.preferred_username,
        "host": authority_of(actor.id),
        "inbox": actor.inbox,
        "shared_inbox": actor.shared_inbox,
        "public_key_id": actor.public_key_id,
        "public_key_pem": actor.public_key_pem,
        "document": document,
        "fetched_at": now,
        "gone_at": None,
    }


class ActorResolver:
    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        transport: Transport,
        clock: Clock,
        fetch_signer: Callable[[], Awaitable[Signer]],
    ) -> None:
        self._settings = settings
        self._db = db
        self._transport = transport
        self._clock = clock
        self._fetch_signer = fetch_signer
        self._keys: OrderedDict[str, ResolvedKey] = OrderedDict()
        self._failures: dict[str, tuple[str, datetime]] = {}
        self._in_flight: dict[str, asyncio.Future[Actor]] = {}

    # -- actors -------------------------------------------------------------------------
    async def fetch_actor(self, actor_id: str) -> Actor:
        """Fetch an actor document from its own id, validate it, and cache it."""
        signer = await self._fetch_signer()
        try:
            fetched = await self._transport.get_json(actor_id, signer=signer)
        except FetchError as exc:
            raise ResolveError(f"cannot fetch actor {actor_id}: {exc}") from exc
        try:
            actor = parse_actor(fetched.document, allow_http=self._settings.allow_http)
        except ProtocolError as exc:
            raise ResolveError(f"document at {actor_id} is not a usable actor: {exc}") from exc
        requested = _without_fragment(actor_id)
        if actor.id not in {requested, fetched.url} or not same_origin(actor.id, fetched.url):
            raise ResolveError(f"document at {fetched.url} claims to be {actor.id}")
        await self._store(actor, fetched.document)
        return actor

    async def _store(self, actor: Actor, document: object) -> None:
        async with self._db.write() as session:
            await actor_repo.upsert_remote_actor(
                session, actor_row_values(actor, document, self._clock.now())
            )
            if RFC9421_HREF in actor.implements:
                await domain_repo.set_rfc9421(session, authority_of(actor.id), YES)
        if actor.public_key_id:
            self._keys.pop(actor.public_key_id, None)

    async def actor(self, actor_id: str, *, refresh: bool = False) -> Actor:
        """A remote actor from the cache while fresh, else fetched."""
        if not refresh:
            async with self._db.read() as session:
                row = await actor_repo.remote_actor(session, actor_id)
            if row is not None and not self._stale(row):
                return parse_actor(row.document, allow_http=self._settings.allow_http)
        return await self.fetch_actor(actor_id)

    def _stale(self, row: RemoteActor) -> bool:
        age = self._clock.now() - row.fetched_at
        return age > timedelta(seconds=self._settings.actor_cache_seconds)

    async def cached_actor(self, actor_id: str) -> RemoteActor | None:
        async with self._db.read() as session:
            return await actor_repo.remote_actor(session, actor_id)

    # -- keys ---------------------------------------------------------------------------
    async def key(self, key_id: str, *, refresh: bool = False) -> ResolvedKey:
        """The public key behind a signature's key id, and the actor that owns it."""
        if not refresh and key_id not in self._failures:
            cached = self._keys.get(key_id)  # every signed request: the common case first
            if cached is not None:
                self._keys.move_to_end(key_id)
                return cached
        try:
            parse_id(key_id, allow_http=self._settings.allow_http)
        except MalformedDocument as exc:
            raise ResolveError(f"key id {key_id!r} is not a usable URL: {exc}") from exc
        failure = self._failures.get(key_id)
        if failure is not None:
            message, until = failure
            if self._clock.now() < until:
                raise ResolveError(f"{message} (cached failure; not fetching again yet)")
            del self._failures[key_id]
        if not refresh:
            async with self._db.read() as session:
                row = await actor_repo.remote_actor_by_key_id(session, key_id)
            if row is not None and row.public_key_pem and not self._stale(row):
                return self._remember(key_id, row.ap_id, row.public_key_pem, fetched=False)
        try:
            actor = await self._fetch_once(key_id)
            if actor.public_key_id != key_id or not actor.public_key_pem:
                raise ResolveError(f"actor {actor.id} does not list key {key_id}")
        except ResolveError as exc:
            # Remember the failure a while: a flood of requests naming a bad key costs one fetch.
            self._failures[key_id] = (str(exc), self._clock.now() + NEGATIVE_CACHE)
            if len(self._failures) > KEY_CACHE_SIZE:
                self._failures.pop(next(iter(self._failures)))
            raise
        return self._remember(key_id, actor.id, actor.public_key_pem, fetched=True)

    async def _fetch_once(self, key_id: str) -> Actor:
        """Concurrent requests signed with the same unknown key share one fetch."""
        pending = self._in_flight.get(key_id)
        if pending is None:
            pending = asyncio.ensure_future(self._actor_for_key(key_id))
            self._in_flight[key_id] = pending
            pending.add_done_callback(lambda _: self._in_flight.pop(key_id, None))
        return await asyncio.shield(pending)

    async def _actor_for_key(self, key_id: str) -> Actor:
        url = _without_fragment(key_id)
        signer = await self._fetch_signer()
        try:
            fetched = await self._transport.get_json(url, signer=signer)
        except FetchError as exc:
            raise ResolveError(f"cannot fetch key {key_id}: {exc}") from exc
        doc = fetched.document
        owner = doc.get("owner") if isinstance(doc, dict) else None
        if isinstance(owner, str) and isinstance(doc, dict) and "inbox" not in doc:
            # A standalone key document (some servers serve keys apart from actors).
            if not same_origin(owner, key_id):
                raise ResolveError(f"key {key_id} names an owner on another origin")
            return await self.fetch_actor(owner)
        try:
            actor = parse_actor(doc, allow_http=self._settings.allow_http)
        except ProtocolError as exc:
            raise ResolveError(f"document at {fetched.url} is not an actor: {exc}") from exc
        if actor.id not in {url, fetched.url} or origin_of(actor.id) != origin_of(fetched.url):
            raise ResolveError(f"document at {fetched.url} claims to be {actor.id}")
        await self._store(actor, doc)
        return actor

    def forget_key(self, key_id: str) -> None:
        self._keys.pop(key_id, None)

    def _remember(self, key_id: str, owner: str, pem: str, *, fetched: bool) -> ResolvedKey:
        try:
            public_key = public_key_from_pem(pem)
        except MalformedDocument as exc:
            raise ResolveError(f"key {key_id} is not a usable public key: {exc}") from exc
        resolved = ResolvedKey(key_id, owner, public_key, fetched)
        self._keys[key_id] = ResolvedKey(key_id, owner, public_key, False)
        if len(self._keys) > KEY_CACHE_SIZE:
            self._keys.popitem(last=False)
        return resolved

    # -- WebFinger ----------------------------------------------------------------------
    async def webfinger(self, handle_text: str) -> str:
        """The actor id behind ``user@host`` (scheme follows the node's own)."""
        try:
            handle = parse_handle(handle_text)
        except MalformedDocument as exc:
            raise ResolveError(str(exc)) from exc
        schemes = ["https"]
        if self._settings.allow_http:
            schemes.append("http")
        last: Exception | None = None
        for scheme in schemes:
            url = webfinger_url(handle, scheme=scheme)
            try:
                fetched = await self._transport.get_json(
                    url, accept=JRD_JSON, content_types=JRD_TYPES, cross_origin_redirects=True
                )
                actor_id = actor_id_from_jrd(fetched.document)
                return parse_id(actor_id, allow_http=self._settings.allow_http)
            except (FetchError, MalformedDocument) as exc:
                last = exc
                log.debug("webfinger.failed", extra={"url": url, "error": str(exc)})
        raise ResolveError(f"cannot resolve {handle}: {last}")
