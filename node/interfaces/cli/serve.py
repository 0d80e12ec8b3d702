"""Running a node: ``serve`` and ``worker``, the two commands that need the web app and the
workers (``node.runtime.app``). Apart from ``init`` (``node.interfaces.cli.setup``) so that
making a node, like every other command, does not import the app, its routes and templates."""

from __future__ import annotations

import argparse
import asyncio
import signal

from aiohttp import web

from node.interfaces.cli.base import CommandError, err, out, settings_for
from node.interfaces.cli.words import _
from node.runtime.app import close_services, create_app, open_services, settle_heap, worker_tasks
from node.runtime.logs import configure_logging
from node.runtime.private_files import tighten_data_dir
from storage.models.states import GROUP_KINDS
from storage.repositories import actors as actor_repo


def _stop_on_signals() -> asyncio.Event:
    """Set on SIGINT or SIGTERM, so a long-running command can shut down cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def cmd_worker(args: argparse.Namespace) -> int:
    """Delivery, inbox handling and rollups without HTTP (beside ``serve --workers 0``)."""
    settings = settings_for(args)
    configure_logging(settings.log_level)
    tighten_data_dir(settings)
    services = await open_services(settings)
    tasks = [asyncio.create_task(coro, name=name) for name, coro in worker_tasks(services)]
    stop = _stop_on_signals()
    out(f"worker running for {settings.base_url}")
    settle_heap()
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await close_services(services)
    return 0


async def cmd_serve(args: argparse.Namespace) -> int:
    """Serve until signalled; the app's cleanup closes the services."""
    settings = settings_for(
        args,
        host=args.host,
        port=args.port,
        run_workers=None if args.workers is None else args.workers > 0,
    )
    configure_logging(settings.log_level)
    tighten_data_dir(settings)
    services = await open_services(settings)
    app = create_app(services)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise CommandError(
            _("cannot listen on {address}: {reason}").format(
                address=f"{settings.host}:{settings.port}", reason=exc
            )
        ) from exc
    async with services.db.read() as session:
        local = await actor_repo.local_actors(session, sorted(GROUP_KINDS))
    out(f"serving {settings.base_url} on http://{settings.host}:{settings.port}")
    for actor in local:
        out(f"{actor.kind} {actor.ap_id} acct:{actor.name}@{services.ids.authority}")
    settle_heap()
    stop = _stop_on_signals()
    await stop.wait()
    err(_("shutting down"))
    await runner.cleanup()
    return 0
