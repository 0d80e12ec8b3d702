"""The aiohttp application factory and the node's lifecycle (database, client, workers).

Opening the services without the app (``build_services``, ``open_services``, ``close_services``)
is in ``node.runtime.wiring``, so the command line does not import every interface; they are
re-exported here for the callers that start a whole node."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from aiohttp import web

from node.features.directory.refresh import run_directory
from node.features.impact.rollups import run_rollups
from node.features.notifications.reminders import run_reminders
from node.federation.delivery.dispatcher import DeliveryWorker
from node.federation.followups.worker import FollowUpWorker
from node.federation.inbox.group_commit import GroupCommitWriter
from node.federation.retention import run_retention
from node.interfaces import health
from node.interfaces import metrics as metrics_routes
from node.interfaces.activitypub import actors, calls, campaign_chapters, wellknown
from node.interfaces.activitypub import directory_routes as ap_directory_routes
from node.interfaces.activitypub.follow_ups import FOLLOW_UP_HANDLERS
from node.interfaces.activitypub.inbox_worker import InboxWorker
from node.interfaces.api import (
    attendance_routes,
    campaign_routes,
    chapter_routes,
    export_routes,
    moderation_routes,
    notification_routes,
    public_routes,
    report_routes,
)
from node.interfaces.api import directory_routes as api_directory_routes
from node.interfaces.api import routes as api_routes
from node.interfaces.feeds import routes as feed_routes
from node.interfaces.middlewares import error_middleware
from node.interfaces.web.setup import setup_web
from node.runtime.appkeys import INBOX_WRITER, METRICS, SERVICES, TASKS
from node.runtime.metrics import Metrics
from node.runtime.services import Services
from node.runtime.wiring import build_services as build_services
from node.runtime.wiring import close_services as close_services
from node.runtime.wiring import open_services as open_services

log = logging.getLogger(__name__)

#: Allocations between collections of the youngest generation in serve/worker (see settle_heap).
GC_YOUNG_THRESHOLD = 20_000


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
        ("directory", run_directory(services)),
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
    app.add_routes(campaign_chapters.routes)
    app.add_routes(health.routes)
    app.add_routes(calls.routes)
    app.add_routes(feed_routes.routes)
    app.add_routes(api_routes.routes)
    app.add_routes(moderation_routes.routes)
    app.add_routes(report_routes.routes)
    app.add_routes(export_routes.routes)
    app.add_routes(attendance_routes.routes)
    app.add_routes(campaign_routes.routes)
    app.add_routes(chapter_routes.routes)
    app.add_routes(notification_routes.routes)
    app.add_routes(public_routes.routes)  # chapters and history, without a token
    app.add_routes(ap_directory_routes.routes)  # /directory (AS2; the page for browsers)
    app.add_routes(api_directory_routes.routes)  # the directory search, without a token
    app[METRICS] = Metrics()
    app.add_routes(metrics_routes.routes)
    setup_web(app, services)
    app.cleanup_ctx.append(_lifecycle)
    return app
