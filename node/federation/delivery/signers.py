"""What a delivery needs before it can be sent, loaded once per burst and shared.

The first deliveries of a burst all ask at once; loading a private key costs tens of
milliseconds and the scheme table is one query, so concurrent askers share one load of each.
"""

from __future__ import annotations

import asyncio

from node.federation.transport import CAVAGE, RFC9421, Signer
from node.runtime.services import Services
from storage.models import LocalActor
from storage.models.domain import NO, YES
from storage.repositories import domains as domain_repo
from storage.repositories.deliveries import ClaimedDelivery

SCHEMES_TTL = 10.0  # seconds between reloads of what we know about hosts' signature schemes


class SignerCache:
    """Each sending actor's signer, reloaded when a claimed row shows its key rotated."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._signers: dict[int, tuple[str, Signer]] = {}  # by actor, with the key it was for
        self.loading: dict[tuple[int, str], asyncio.Future[Signer]] = {}

    async def signer(self, row: ClaimedDelivery) -> Signer:
        cached = self._signers.get(row.actor_id)
        if cached is not None and cached[0] == row.actor_public_pem:
            return cached[1]
        key = (row.actor_id, row.actor_public_pem)
        loading = self.loading.get(key)
        if loading is None:  # concurrent deliveries of one actor share one load
            loading = self.loading[key] = asyncio.ensure_future(self._load(key))
        return await asyncio.shield(loading)

    async def _load(self, key: tuple[int, str]) -> Signer:
        actor_id = key[0]
        try:
            async with self._services.db.read() as session:
                actor = await session.get(LocalActor, actor_id)
            if actor is None:
                raise LookupError(f"local actor {actor_id} is gone")
            signer = self._services.keys.rsa_signer(actor)
            self._signers[actor_id] = (actor.rsa_public_pem, signer)
            return signer
        finally:
            self.loading.pop(key, None)


class SchemeCache:
    """Which signature scheme each host takes: RFC 9421 where the resolver learned it does,
    else draft-cavage; a host that refuses RFC 9421 is remembered (double knocking)."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._schemes: dict[str, str] | None = None
        self._loaded = 0.0
        self.loading: asyncio.Future[None] | None = None

    async def scheme(self, host: str) -> str:
        now = asyncio.get_running_loop().time()
        if self._schemes is None or now - self._loaded > SCHEMES_TTL:
            if self.loading is None:
                self.loading = asyncio.ensure_future(self.load(now))
            await asyncio.shield(self.loading)
        assert self._schemes is not None
        return RFC9421 if self._schemes.get(host) == YES else CAVAGE

    async def load(self, now: float) -> None:
        try:
            async with self._services.db.read() as session:
                self._schemes = await domain_repo.rfc9421_hosts(session)
            self._loaded = now
        finally:
            self.loading = None

    async def refused_rfc9421(self, host: str) -> None:
        async with self._services.db.write() as session:
            await domain_repo.set_rfc9421(session, host, NO)
        if self._schemes is not None:
            self._schemes[host] = NO
