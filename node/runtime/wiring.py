"""The node's services without its web app: what every command line run opens.

``build_services``, ``open_services`` and ``close_services`` live here, apart from the app
factory (``node.runtime.app``), because the app factory imports every interface (the
ActivityPub, API and web routes, the templates) and a command such as ``chapterhouse following``
needs none of them: importing them cost each CLI run about a third of a second. ``node.runtime.app``
re-exports these names, so ``serve``, the test rig and the benchmarks are unchanged.
"""

from __future__ import annotations

import time

from node.features.actors.local import ensure_instance_actor
from node.features.impact.proof_batch import ProofPool
from node.federation.admission.blocklist import BlockList
from node.federation.admission.blocks import load_blocks
from node.federation.admission.ratelimit import ClientLimiter, DomainLimiter, RateLimiter
from node.federation.keystore import KeyStore
from node.federation.resolver import ActorResolver
from node.federation.transport import Signer, Transport
from node.runtime.clock import Clock, SystemClock
from node.runtime.config import Settings
from node.runtime.private_files import ensure_private_dir
from node.runtime.services import Services, Wakeups
from node.runtime.version import node_version
from protocol.ids import IdFactory
from storage.engine import Database, open_database
from storage.migrate import migrate


def build_services(settings: Settings, db: Database, clock: Clock, version: str) -> Services:
    ids = IdFactory(settings.base_url)
    transport = Transport(settings, clock, version=version)
    holder: dict[str, Services] = {}

    async def fetch_signer() -> Signer:
        return await holder["services"].fetch_signer()

    resolver = ActorResolver(
        settings=settings, db=db, transport=transport, clock=clock, fetch_signer=fetch_signer
    )
    services = Services(
        settings=settings,
        db=db,
        clock=clock,
        ids=ids,
        keys=KeyStore.empty(ids),
        transport=transport,
        resolver=resolver,
        wakeups=Wakeups(),
        version=version,
        blocks=BlockList(),
        proof_pool=ProofPool.for_settings(settings),
    )
    holder["services"] = services
    # "ip" before a signature is verified; "key" and "domain" (registrable) only after.
    services.limits = {
        "ip": ClientLimiter(
            settings.inbox_rate_per_ip,
            settings.inbox_burst_per_ip,
            forwarded_for=settings.trust_forwarded_for,
        ),
        "domain": DomainLimiter(settings.inbox_rate_per_domain, settings.inbox_burst_per_domain),
        "key": RateLimiter(settings.inbox_rate_per_key, settings.inbox_burst_per_key),
        "token": RateLimiter(settings.api_rate_per_token, settings.api_burst_per_token),
    }
    return services


async def open_services(settings: Settings, clock: Clock | None = None) -> Services:
    """Open the database (migrating it), the HTTP client and the instance actor."""
    ensure_private_dir(settings.data_dir)  # holds private keys: 0700, whatever the umask
    db = open_database(settings.database_url)
    await migrate(db.engine)
    services = build_services(settings, db, clock or SystemClock(), node_version())
    await services.transport.start()
    await ensure_instance_actor(services)
    await services.load_unavailable_hosts()
    services.blocks = await load_blocks(services, now=time.monotonic())
    return services


async def close_services(services: Services) -> None:
    if services.proof_pool is not None:
        services.proof_pool.close()
    await services.transport.close()
    await services.db.dispose()
