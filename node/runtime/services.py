"""The explicit dependency container of a running node (no module-level state).

The container names the federation objects it holds for the type checker only: it is built by
the wiring (``node.runtime.app.build_services``), so this kernel module imports no room.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from node.runtime.clock import Clock
from node.runtime.config import Settings
from node.runtime.i18n import Catalogues
from protocol.ids import IdFactory, make_ulid
from storage.engine import Database
from storage.models import LocalActor
from storage.repositories import actors as actor_repo
from storage.repositories import domains as domain_repo

if TYPE_CHECKING:
    from node.features.actors.throttle import SignInGuard
    from node.features.impact.proof_batch import ProofPool
    from node.federation.admission.blocklist import BlockList
    from node.federation.admission.ratelimit import RateLimiter
    from node.federation.keystore import KeyStore
    from node.federation.resolver import ActorResolver
    from node.federation.transport import Signer, Transport

INSTANCE_ACTOR = "relay"


@dataclass
class Wakeups:
    """Events that let a request wake a worker at once instead of waiting for its poll."""

    deliveries: asyncio.Event = field(default_factory=asyncio.Event)
    inbox: asyncio.Event = field(default_factory=asyncio.Event)
    follow_ups: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    ids: IdFactory
    keys: KeyStore
    transport: Transport
    resolver: ActorResolver
    wakeups: Wakeups
    version: str
    #: Blocked domains and actors, kept in memory for the inbox (node/federation/admission).
    blocks: BlockList
    #: Hosts marked unavailable; a request from one of them revives it (see note_alive).
    unavailable_hosts: set[str] = field(default_factory=set)
    #: The reload of ``blocks`` in progress, shared by the requests waiting for it.
    blocks_reload: asyncio.Future[BlockList] | None = None
    #: Inbound rate limits, per sending domain, per key and per API token.
    limits: dict[str, RateLimiter] = field(default_factory=dict)
    #: Names of local actors seen to exist (they are never deleted): inboxes skip the lookup.
    local_names: set[str] = field(default_factory=set)
    #: Sign-in limits and the password-hashing semaphore (node/features/actors/throttle.py).
    signin: SignInGuard | None = None
    #: Proof-checking processes and the chapters' kept assertion keys (impact/proof_batch.py).
    proof_pool: ProofPool | None = None
    #: The gettext catalogues of the shipped languages (node/runtime/i18n.py).
    catalogues: Catalogues = field(default_factory=Catalogues)

    def new_id(self) -> str:
        """A time-sortable id for a new local object or activity."""
        return make_ulid(self.clock.now(), secrets.token_bytes(10))

    def activity_id(self) -> str:
        return self.ids.activity(self.new_id())

    async def note_alive(self, host: str) -> None:
        """A successful request to or from ``host``: release its held deliveries, if any."""
        if host not in self.unavailable_hosts:
            return
        async with self.db.write() as session:
            await domain_repo.record_success(session, host, self.clock.now())
        self.unavailable_hosts.discard(host)
        self.wakeups.deliveries.set()

    async def load_unavailable_hosts(self) -> None:
        async with self.db.read() as session:
            self.unavailable_hosts = await domain_repo.unavailable_hosts(session)

    async def instance_actor(self) -> LocalActor:
        async with self.db.read() as session:
            actor = await actor_repo.local_actor_by_name(session, INSTANCE_ACTOR)
        if actor is None:
            raise RuntimeError("the node has no instance actor: run `chapterhouse init`")
        return actor

    async def fetch_signer(self) -> Signer:
        """Signed GETs are made by the instance actor (servers with authorized fetch need one)."""
        return self.keys.rsa_signer(await self.instance_actor())
