"""The aiohttp application factory and the node's lifecycle (database, client, workers)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from aiohttp import web

from node.features.actors.local import ensure_instance_actor
from node.features.impact.rollups import run_rollups
from node.features.notifications.reminders import run_reminders
from node.federation.admission.blocklist import BlockList
from node.federation.admission.blocks import load_blocks
from node.federation.admission.ratelimit import ClientLimiter, DomainLimiter, RateLimiter
from node.federation.delivery.dispatcher import DeliveryWorker
from node.federation.followups.worker import FollowUpWorker
from node.federation.inbox.group_commit import GroupCommitWriter
from node.federation.keystore import KeyStore
from node.federation.resolver import ActorResolver
from node.federation.retention import run_retention
from node.federation.transport import Signer, Transport
from node.interfaces import health
from node.interfaces import metrics as metrics_routes
from node.interfaces.activitypub import actors, calls, wellknown
from node.interfaces.activitypub.follow_ups import FOLLOW_UP_HANDLERS
from node.interfaces.activitypub.inbox_worker import InboxWorker
from node.interfaces.api import (
    attendance_routes,
    campaign_routes,
    moderation_routes,
    notification_routes,
    report_routes,
)
from node.interfaces.api import routes as api_routes
from node.interfaces.feeds import routes as feed_routes
from node.interfaces.middlewares import error_middleware
from node.interfaces.web.setup import setup_web
from node.runtime.appkeys import INBOX_WRITER, METRICS, SERVICES, TASKS
from node.runtime.clock import Clock, SystemClock
from node.runtime.config import Settings
from node.runtime.metrics import Metrics
from node.runtime.private_files import ensure_private_dir
from node.runtime.services import Services, Wakeups
from node.runtime.version import node_version
from protocol.ids import IdFactory
from storage.engine import Database, open_database
from storage.migrate import migrate

log = logging.getLogger(__name__)

#: Allocations between collections of the youngest generation in serve/worker (see settle_heap).
GC_YOUNG_THRESHOLD = 20_000


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
    await services.transport.close()
    await services.db.dispose()


def settle_heap() -> None:
    """Once a long-running process (``serve``, ``worker``) has started: collect the start-up
    garbage, then move every surviving object (modules, routes, mappers, templates) out of the
    cyclic garbage collector's reach. Full collections then scan only what requests allocate,
    instead of pausing every request in flight for tens of milliseconds on a large heap.

    The youngest generation is then collected every ``GC_YOUNG_THRESHOLD`` allocations instead
    of every 700: under an inbox flood each young collection also walks the requests in flight,
    and fewer of them cut the node's CPU per request by about 6% (bench/inbox.py)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def _spawn(tasks: list[asyncio.Task[None]], coro: Coroutine[Any, Any, None], name: str) -> None:
    tasks.append(asyncio.create_task(coro, name=name))


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    tasks: list[asyncio.Task[None]] = []
    _spawn(tasks, app[INBOX_WRITER].run(), "inbox-writer")
    if services.settings.run_workers:
        for name, coro in worker_tasks(services, app[METRICS].observe_delivery):
            _spawn(tasks, coro, name)
    app[TASKS] = tasks
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await close_services(services)


def worker_tasks(
    services: Services, observe: Any = None
) -> list[tuple[str, Coroutine[Any, Any, None]]]:
    """The background loops: inbox handling and its follow-ups, delivery, rollups, the daily
    purge (in ``serve`` or ``worker``)."""
    return [
        ("inbox-worker", InboxWorker(services).run()),
        ("follow-up-worker", FollowUpWorker(services, FOLLOW_UP_HANDLERS).run()),
        ("delivery-worker", DeliveryWorker(services, observe).run()),
        ("rollups", run_rollups(services)),
        ("retention", run_retention(services)),
        ("reminders", run_reminders(services)),
    ]


def create_app(services: Services) -> web.Application:
    """The web app around already-opened services; closing the app closes them."""
    app = web.Application(
        middlewares=[error_middleware], client_max_size=services.settings.max_body_bytes
    )
    app[SERVICES] = services
    app[INBOX_WRITER] = GroupCommitWriter(services.db, services.wakeups.inbox, services.clock)
    app.add_routes(wellknown.routes)
    app.add_routes(actors.routes)
    app.add_routes(health.routes)
    app.add_routes(calls.routes)
    app.add_routes(feed_routes.routes)
    app.add_routes(api_routes.routes)
    app.add_routes(moderation_routes.routes)
    app.add_routes(report_routes.routes)
    app.add_routes(attendance_routes.routes)
    app.add_routes(campaign_routes.routes)
    app.add_routes(notification_routes.routes)
    app[METRICS] = Metrics()
    app.add_routes(metrics_routes.routes)
    setup_web(app, services)
    app.cleanup_ctx.append(_lifecycle)
    return app
