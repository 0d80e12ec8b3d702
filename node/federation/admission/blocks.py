"""Keeping the blocks current in memory: loaded at start, reloaded when they change.

Blocks are consulted on the hot path (every inbox POST, before any key fetch), so the node
keeps them in memory and reloads them when they change here or, every few seconds, when the
CLI changed them from another process.
"""

from __future__ import annotations

import asyncio
import functools

from node.federation.admission.blocklist import BlockList
from node.runtime.services import Services
from storage.models.moderation import SILENCE, SUSPEND
from storage.repositories import moderation as moderation_repo

RELOAD_SECONDS = 5.0


async def load_blocks(services: Services, *, now: float) -> BlockList:
    """The blocks as stored now (``now``: ``time.monotonic()``, for their age)."""
    async with services.db.read() as session:
        domains = await moderation_repo.domain_blocks(session)
        actors = await moderation_repo.actor_blocks(session)
    return BlockList(
        suspended={d.host for d in domains if d.severity == SUSPEND},
        silenced={d.host for d in domains if d.severity == SILENCE},
        actors={a.actor for a in actors},
        loaded_at=now,
    )


async def current_blocks(services: Services, *, now: float) -> BlockList:
    """The blocks, reloaded once they are ``RELOAD_SECONDS`` old or changed by this process.

    Requests in flight share one reload: under an inbox flood, each of them starting its own
    would read the same rows dozens of times over."""
    if now - services.blocks.loaded_at <= RELOAD_SECONDS:
        return services.blocks
    reload = services.blocks_reload
    if reload is None:
        reload = services.blocks_reload = asyncio.ensure_future(load_blocks(services, now=now))
        reload.add_done_callback(functools.partial(_install_blocks, services))
    return await asyncio.shield(reload)


def _install_blocks(services: Services, reload: asyncio.Future[BlockList]) -> None:
    failed = reload.cancelled() or reload.exception() is not None  # its waiters were told
    if services.blocks_reload is not reload:
        return  # the blocks changed while it was reading: a newer reload decides
    services.blocks_reload = None
    if not failed:
        services.blocks = reload.result()


def invalidate_blocks(services: Services) -> None:
    """After a change here: the next request reloads (not joining a reload that began before)."""
    services.blocks.loaded_at = -1e9
    services.blocks_reload = None
