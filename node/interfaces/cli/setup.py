"""Making a node and running it: ``init``, ``serve`` and ``worker``."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path

from aiohttp import web

from node.features.actors.local import issue_token
from node.interfaces.cli.base import (
    CommandError,
    err,
    out,
    settings_for,
    with_services,
)
from node.ops.backup.layout import ADMIN_TOKEN_FILE  # where backup looks for it
from node.runtime.app import close_services, create_app, open_services, settle_heap, worker_tasks
from node.runtime.config import CONFIG_FILE, ConfigError, Settings, write_config
from node.runtime.logs import configure_logging
from node.runtime.private_files import (
    PRIVATE_FILE_MODE,
    ensure_private_dir,
    tighten_data_dir,
    write_private,
)
from node.runtime.services import INSTANCE_ACTOR, Services
from storage.models.states import GROUP_KINDS, Role
from storage.repositories import actors as actor_repo


async def cmd_init(args: argparse.Namespace) -> int:
    """Refuse an existing node and bad settings before anything is written. The directory is
    made 0700 and every file in it 0600 (the database holds private keys), whatever the umask."""
    data = Path(args.data)
    if (data / CONFIG_FILE).exists():
        raise CommandError(f"{data} is already initialised ({data / CONFIG_FILE} exists)")
    values: dict[str, object] = {"base_url": args.base_url}
    if args.allow_private_network:
        values["allow_private_network"] = True
    try:
        Settings(data_dir=data, **values)  # type: ignore[arg-type]
    except ConfigError as exc:
        raise CommandError(str(exc)) from exc
    ensure_private_dir(data)
    os.chmod(write_config(data, values), PRIVATE_FILE_MODE)
    return await _issue_admin_token(args, data)


@with_services
async def _issue_admin_token(args: argparse.Namespace, services: Services, data: Path) -> int:
    """Opening the services creates the database and the instance actor; the admin token is
    the instance actor's, kept in the data directory (owner-only) and printed once."""
    async with services.db.read() as session:
        relay = await actor_repo.local_actor_by_name(session, INSTANCE_ACTOR)
    assert relay is not None
    token = await issue_token(services, relay, Role.ADMIN)
    write_private(data / ADMIN_TOKEN_FILE, token + "\n")
    out(f"initialised node {services.settings.base_url} in {data}")
    out(f"admin token: {token}")
    return 0


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
        raise CommandError(f"cannot listen on {settings.host}:{settings.port}: {exc}") from exc
    async with services.db.read() as session:
        local = await actor_repo.local_actors(session, sorted(GROUP_KINDS))
    out(f"serving {settings.base_url} on http://{settings.host}:{settings.port}")
    for actor in local:
        out(f"{actor.kind} {actor.ap_id} acct:{actor.name}@{services.ids.authority}")
    settle_heap()
    stop = _stop_on_signals()
    await stop.wait()
    err("shutting down")
    await runner.cleanup()
    return 0
