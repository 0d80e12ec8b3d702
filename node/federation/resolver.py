"""Remote actors and their keys: served from the cache, fetched (signed) on a miss.

A key counts only if the actor document that lists it is served from the actor's own id,
so a key id cannot be borrowed by another actor or another origin.

A key stays in memory for ``key_cache_seconds``, then is read again from the database, where
another process may have stored the actor's newer document. A key an actor replaced (its
``Update``, or a refetch, lists another key id) is recorded in ``superseded_keys``. Signatures
are verified in the web process while Updates are handled by a worker, so every process reads
that table every few seconds (``WHERE id > last seen``), drops those keys from its cache and
refuses them without a fetch. Fetches that signatures cause are capped per origin: junk
requests naming an honest peer's key cannot make the node hammer that peer, and a refusal by
the cap is not remembered as the key's failure.

A key replaced under the *same* id (Mastodon's ``#main-key``, ``chapterhouse keys rotate``) is
recorded as a retired-key marker of the old key (see ``actor_rows``): the poll drops a cached
entry for that id when it holds that very key, so the next request reads the new key from the
database instead of verifying with the old one until ``key_cache_seconds`` runs out. Each cached
key carries its marker, computed once as it enters the cache: a cache hit stays a dict lookup.

A key fetch answering 410 is how a deleted account shows: when the key lives in the document
of an actor we know by that key id, the actor is marked gone (as ``fetch_actor`` does). A
``Delete`` it signed is then verified with the key stored in its row (``stored_if_gone``),
which is what Mastodon does: a deleted account's last word still counts, and nothing else it
signs does (a row marked gone is never used otherwise: its key is fetched again, and only a
document served again clears the mark).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.federation.actor_rows import StaleActorDocument, key_fingerprint
from node.federation.actor_rows import actor_row_values as actor_row_values  # re-exported
from node.federation.actor_rows import store_actor_row as store_actor_row  # re-exported
from node.federation.admission.ratelimit import RateLimiter
from node.federation.transport import JRD_TYPES, FetchError, Signer, Transport
from node.runtime.clock import Clock
from node.runtime.config import Settings
from protocol.actors import RFC9421_HREF, Actor, parse_actor
from protocol.errors import ChapterhouseError, MalformedDocument, ProtocolError, SignatureFailure
from protocol.ids import authority_of, origin_of, parse_id, same_origin
from protocol.keys import PublicKey, ed25519_public_from_multibase, public_key_from_pem
from protocol.proof_digest import JcsCache
from protocol.webfinger import JRD_JSON, actor_id_from_jrd, parse_handle, webfinger_url
from storage.engine import Database
from storage.loop_reads import read_now
from storage.models import RemoteActor
from storage.models.domain import YES
from storage.repositories import actors as actor_repo
from storage.repositories import domains as domain_repo
from storage.repositories import gone as gone_repo
from storage.repositories import keys as key_repo

log = logging.getLogger(__name__)

KEY_CACHE_SIZE = 10_000
#: Parsed actor documents kept (those that sign proofs: chapters, far fewer than people).
PARSED_CACHE_SIZE = 1_000
#: Canonical ``@context`` values kept for proofs, and the longest kept (as JSON text).
CONTEXT_CACHE_SIZE = 16
CONTEXT_MAX_CHARS = 8_192
NEGATIVE_CACHE = timedelta(minutes=5)
#: How often a process reads the keys that any process recorded as superseded.
SUPERSEDED_POLL_SECONDS = 2.0
#: Each read goes back this many ids below the highest seen: PostgreSQL numbers a row when it
#: is inserted, not when it commits, so a lower id can become visible after a higher one.
SUPERSEDED_OVERLAP = 64


class ResolveError(ChapterhouseError):
    """An actor or key could not be obtained or did not check out."""

    #: Why a signature made with the key is refused, as the inbox reports it.
    reason: SignatureFailure = SignatureFailure.KEY_FETCH_FAILED


class KeySuperseded(ResolveError):
    """The key's actor replaced it with another key: refused, without a fetch, everywhere."""

    reason = SignatureFailure.KEY_SUPERSEDED


class ActorGone(ResolveError):
    """The actor's document answered 410 Gone: the account was deleted (it is marked gone)."""


class FetchCapped(ResolveError):
    """This node's own cap on key fetches per origin refused the fetch. It says nothing about
    the key, so it is never remembered as the key's failure: a junk request naming an honest
    peer's key must not get that peer's real requests refused for minutes."""


@dataclass(frozen=True, slots=True)
class ResolvedKey:
    key_id: str
    owner: str
    public_key: PublicKey
    fetched: bool  # True when just fetched; a failure with a cached key warrants a refetch


@dataclass(frozen=True, slots=True)
class _Cached:
    key: ResolvedKey
    until: datetime  # read again from the database after this (another process may know better)
    marker: str  # the retired-key marker that would retire this very key (computed once)


@dataclass(frozen=True, slots=True)
class _Failure:
    message: str
    until: datetime
    gone: bool  # the actor answered 410: its stored key still verifies its Delete


def _without_fragment(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(fragment=""))


class ActorResolver:
    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        transport: Transport,
        clock: Clock,
        fetch_signer: Callable[[], Awaitable[Signer]],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._db = db
        self._transport = transport
        self._clock = clock
        self._fetch_signer = fetch_signer
        self._monotonic = monotonic
        self._keys: OrderedDict[str, _Cached] = OrderedDict()
        self._failures: dict[str, _Failure] = {}
        self._parsed: OrderedDict[str, tuple[str, Actor]] = OrderedDict()  # id -> (text, it)
        self._assertion_keys: dict[str, Ed25519PublicKey] = {}
        self._contexts: JcsCache = {}
        self._in_flight: dict[str, asyncio.Future[Actor]] = {}
        self._superseded: set[str] = set()
        self._retired: dict[str, datetime] = {}  # retired-key marker -> until when it counts
        self._superseded_seen = 0  # the highest superseded_keys id read so far
        self._superseded_read_at = -math.inf  # monotonic time the last read began
        self._superseded_read: asyncio.Future[None] | None = None
        cap = settings.key_fetches_per_origin_per_minute
        self._fetch_cap = RateLimiter(cap / 60, cap, clock=monotonic)

    # -- actors -------------------------------------------------------------------------
    async def fetch_actor(self, actor_id: str) -> Actor:
        """Fetch an actor document from its own id, validate it, and cache it."""
        signer = await self._fetch_signer()
        try:
            fetched = await self._transport.get_json(actor_id, signer=signer)
        except FetchError as exc:
            if exc.status == 410:  # deleted: mark it gone, drop its follows and deliveries
                async with self._db.write() as session:
                    await gone_repo.actor_gone(
                        session, _without_fragment(actor_id), self._clock.now(), str(exc)
                    )
                raise ActorGone(f"cannot fetch actor {actor_id}: {exc}") from exc
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
        now = self._clock.now()
        try:
            async with self._db.write() as session:
                recorded = await store_actor_row(
                    session, actor, document, now, retire_for=self._retire_for
                )
                if RFC9421_HREF in actor.implements:
                    await domain_repo.set_rfc9421(session, authority_of(actor.id), YES)
        except StaleActorDocument as exc:
            raise ResolveError(str(exc)) from exc
        for entry in (recorded.key_id, recorded.marker):
            if entry is not None:
                self.supersede(entry, now)
        if actor.public_key_id:
            self._keys.pop(actor.public_key_id, None)

    async def actor(self, actor_id: str, *, refresh: bool = False) -> Actor:
        """A remote actor from the cache while fresh, else fetched."""
        if not refresh:
            found = await read_now(self._db, lambda s: actor_repo.remote_actor_text(s, actor_id))
            if found is not None and not self._stale_at(found[0]):
                return self._parsed_text(actor_id, found[1])
        return await self.fetch_actor(actor_id)

    def _parsed_text(self, actor_id: str, text: str) -> Actor:
        """The stored document (JSON text), parsed. Every proof checked asks for its owner, and
        decoding and parsing it (the keys in it) costs far more than comparing two strings, so
        the parse of the very same text is kept; any other text (an Update, a refetch) is parsed
        anew."""
        held = self._parsed.get(actor_id)
        if held is not None and held[0] == text:
            self._parsed.move_to_end(actor_id)
            return held[1]
        actor = parse_actor(orjson.loads(text), allow_http=self._settings.allow_http)
        self._parsed[actor_id] = (text, actor)
        if len(self._parsed) > PARSED_CACHE_SIZE:
            self._parsed.popitem(last=False)
        return actor

    def proof_contexts(self) -> JcsCache:
        """Canonical bytes of the ``@context`` values that proofs carry (for
        ``protocol.proof_digest``): a few, the same on every document. Kept small and free of
        long values, since a sender chooses them before anything is verified."""
        contexts = self._contexts
        if len(contexts) > CONTEXT_CACHE_SIZE or any(len(k) > CONTEXT_MAX_CHARS for k in contexts):
            contexts.clear()
        return contexts

    def assertion_key(self, multibase: str) -> Ed25519PublicKey:
        """An Ed25519 Multikey's public key (decoded once: it is the same key for every proof
        its owner signs). Raises ``MalformedDocument`` for a value that is no such key."""
        key = self._assertion_keys.get(multibase)
        if key is None:
            key = ed25519_public_from_multibase(multibase)
            self._assertion_keys[multibase] = key
            if len(self._assertion_keys) > PARSED_CACHE_SIZE:
                self._assertion_keys.pop(next(iter(self._assertion_keys)))
        return key

    @property
    def _retire_for(self) -> timedelta:
        return timedelta(seconds=self._settings.key_cache_seconds)

    def _stale(self, row: RemoteActor) -> bool:
        return self._stale_at(row.fetched_at)

    def _stale_at(self, fetched_at: datetime) -> bool:
        age = self._clock.now() - fetched_at
        return age > timedelta(seconds=self._settings.actor_cache_seconds)

    async def cached_actor(self, actor_id: str) -> RemoteActor | None:
        async with self._db.read() as session:
            return await actor_repo.remote_actor(session, actor_id)

    # -- keys ---------------------------------------------------------------------------
    async def key(
        self, key_id: str, *, refresh: bool = False, stored_if_gone: bool = False
    ) -> ResolvedKey:
        """The public key behind a signature's key id, and the actor that owns it.

        With ``stored_if_gone`` (the inbox asks it for a ``Delete``), a key whose actor answers
        410 is the one stored in the actor's row rather than a refusal.
        """
        if self._monotonic() - self._superseded_read_at > SUPERSEDED_POLL_SECONDS:
            await self._read_superseded()
        if key_id in self._superseded:
            raise KeySuperseded(f"key {key_id} was replaced by its actor")
        if not refresh and key_id not in self._failures:
            cached = self._keys.get(key_id)  # every signed request: the common case first
            if cached is not None:
                if self._clock.now() < cached.until:
                    self._keys.move_to_end(key_id)
                    return cached.key
                del self._keys[key_id]
        try:
            parse_id(key_id, allow_http=self._settings.allow_http)
        except MalformedDocument as exc:
            raise ResolveError(f"key id {key_id!r} is not a usable URL: {exc}") from exc
        failure = self._failures.get(key_id)
        if failure is not None:
            if self._clock.now() < failure.until:
                if failure.gone and stored_if_gone:
                    return await self._gone_key(key_id, failure.message)
                error = ActorGone if failure.gone else ResolveError
                raise error(f"{failure.message} (cached failure; not fetching again yet)")
            del self._failures[key_id]
        row: RemoteActor | None = None
        async with self._db.read() as session:
            superseded = await key_repo.is_superseded(session, key_id)  # exact; the poll may lag
            if not superseded and not refresh:
                row = await actor_repo.remote_actor_by_key_id(session, key_id)
        if superseded:
            self.supersede(key_id)
            raise KeySuperseded(f"key {key_id} was replaced by its actor")
        if row is not None and row.public_key_pem and row.gone_at is None and not self._stale(row):
            return self._remember(key_id, row.ap_id, row.public_key_pem, fetched=False)
        try:
            actor = await self._fetch_once(key_id)
            if actor.public_key_id != key_id or not actor.public_key_pem:
                raise ResolveError(f"actor {actor.id} does not list key {key_id}")
        except FetchCapped:
            raise  # our own limit, not the key's failure: nothing is remembered
        except ResolveError as exc:
            # Remember the failure a while: a flood of requests naming a bad key costs one fetch.
            gone = isinstance(exc, ActorGone)
            self._failures[key_id] = _Failure(str(exc), self._clock.now() + NEGATIVE_CACHE, gone)
            if len(self._failures) > KEY_CACHE_SIZE:
                self._failures.pop(next(iter(self._failures)))
            if gone:
                self._keys.pop(key_id, None)
                if stored_if_gone:
                    return await self._gone_key(key_id, str(exc))
            raise
        return self._remember(key_id, actor.id, actor.public_key_pem, fetched=True)

    async def _gone_key(self, key_id: str, message: str) -> ResolvedKey:
        """The key stored for an actor marked gone. It verifies that actor's ``Delete`` only,
        so it never enters the cache; ``fetched``: a failure with it warrants no refetch."""
        async with self._db.read() as session:
            row = await actor_repo.remote_actor_by_key_id(session, key_id)
        if row is None or row.gone_at is None or not row.public_key_pem:
            raise ActorGone(f"{message} (and no key of that actor is stored here)")
        public_key, _ = self._usable(key_id, row.public_key_pem)
        return ResolvedKey(key_id, row.ap_id, public_key, fetched=True)

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
        origin = str(origin_of(url))
        wait = self._fetch_cap.take(origin)
        if wait is not None:
            raise FetchCapped(
                f"key fetches from {origin} are over this node's cap; retry in {math.ceil(wait)} s"
            )
        signer = await self._fetch_signer()
        try:
            fetched = await self._transport.get_json(url, signer=signer)
        except FetchError as exc:
            if exc.status == 410 and await self._gone_by_key(key_id, url, str(exc)):
                raise ActorGone(f"cannot fetch key {key_id}: {exc}") from exc
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

    async def _gone_by_key(self, key_id: str, url: str, detail: str) -> bool:
        """A key's URL answered 410. When that URL is the document of the actor we know by
        this key id (Mastodon's ``actor#main-key``), the actor is gone, exactly as when
        ``fetch_actor`` hears it. A key kept apart from its actor being gone says only that the
        key is (the actor may have moved on), so nothing is marked then; nor for an actor we
        never stored (there is nothing of it to mark)."""
        async with self._db.read() as session:
            row = await actor_repo.remote_actor_by_key_id(session, key_id)
        if row is None or row.ap_id != url:
            return False
        async with self._db.write() as session:
            await gone_repo.actor_gone(session, row.ap_id, self._clock.now(), detail)
        log.info("actor.gone", extra={"actor": row.ap_id, "key_id": key_id})
        return True

    def forget_key(self, key_id: str) -> None:
        self._keys.pop(key_id, None)

    def supersede(self, entry: str, at: datetime | None = None) -> None:
        """Act on a row of ``superseded_keys`` (recorded ``at``) in this process: refuse a
        replaced key id from now on, or drop a retired key (a marker) from the cache.

        A marker counts until ``key_cache_seconds`` after it was recorded: a cache entry older
        than it has expired by then, so an older marker (a poll reads the last few rows again,
        a new process reads them all) neither evicts nor refuses anything."""
        named = key_repo.marker_key_id(entry)
        if named is None:
            self._superseded.add(entry)
            self._keys.pop(entry, None)
            return
        now = self._clock.now()
        until = (at or now) + self._retire_for
        if until <= now or self._retired.get(entry) == until:
            return  # too old to matter, or this very row was read already
        self._retired[entry] = until
        cached = self._keys.get(named) if named else None
        if cached is not None and cached.marker == entry:
            del self._keys[named]  # it holds the retired key: read the row's new one instead
        elif not named:  # the marker names a hash of a (very long) key id: look through
            for key_id in [k for k, held in self._keys.items() if held.marker == entry]:
                del self._keys[key_id]

    async def _read_superseded(self) -> None:
        """Learn the keys superseded since the last read, by any process. Requests in flight
        share one read: under an inbox flood, each starting its own would repeat it."""
        pending = self._superseded_read
        if pending is None:
            pending = asyncio.ensure_future(self._poll_superseded(self._monotonic()))
            self._superseded_read = pending
            pending.add_done_callback(self._superseded_read_done)
        await asyncio.shield(pending)

    def _superseded_read_done(self, read: asyncio.Future[None]) -> None:
        if self._superseded_read is read:
            self._superseded_read = None
        if not read.cancelled():
            read.exception()  # its waiters were told; a waiter may have been cancelled

    async def _poll_superseded(self, started: float) -> None:
        after = max(0, self._superseded_seen - SUPERSEDED_OVERLAP)
        while True:
            async with self._db.read() as session:
                rows = await key_repo.superseded_since(session, after)
            for row in rows:
                self.supersede(row.key_id, row.superseded_at)
                after = row.id
            self._superseded_seen = max(self._superseded_seen, after)
            if len(rows) < key_repo.POLL_BATCH:
                break
        if self._retired:  # few entries (one per rotation): keep only those still counting
            now = self._clock.now()
            self._retired = {m: until for m, until in self._retired.items() if until > now}
        self._superseded_read_at = started

    def _usable(self, key_id: str, pem: str) -> tuple[PublicKey, str]:
        """The key, and the marker that would retire it (its fingerprint, computed once)."""
        try:
            public_key = public_key_from_pem(pem)
        except MalformedDocument as exc:
            raise ResolveError(f"key {key_id} is not a usable public key: {exc}") from exc
        marker = key_repo.retired_marker(key_id, key_fingerprint(public_key))
        retired = self._retired.get(marker)
        if retired is not None and self._clock.now() < retired:
            raise KeySuperseded(f"the key behind {key_id} was replaced by its actor")
        return public_key, marker

    def _remember(self, key_id: str, owner: str, pem: str, *, fetched: bool) -> ResolvedKey:
        public_key, marker = self._usable(key_id, pem)
        resolved = ResolvedKey(key_id, owner, public_key, fetched)
        until = self._clock.now() + self._retire_for  # key_cache_seconds
        self._keys[key_id] = _Cached(ResolvedKey(key_id, owner, public_key, False), until, marker)
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
        raise ResolveError(f"cannot resolve {handle}: {last}") from last  # callers tell why
