"""Keeping the index: which nodes to read, and reading their directories politely.

Where nodes come from (``learned``): the origins of remote ``Group`` actors we follow or that
follow us (``follow``; ``campaign`` when one side is one of our campaigns), of every other
remote actor we hold (``peer``), the member chapters a campaign's directory names
(``campaign``), and an admin's seeds (``seed``). At most ``directory_max_nodes`` are kept.

Each node is a durable row (``directory_nodes``): the worker leases the due ones, GETs
``{origin}/directory`` signed by the instance actor through the node's Transport (the SSRF
guard applies), conditionally (``If-None-Match``/``If-Modified-Since``: a 304 keeps the
entries), and schedules the next fetch no sooner than ``directory_fetch_interval_seconds``
(an hour at least) later; a failure waits longer each time, up to a week. A directory that is
not a collection of its node's own actors is refused whole (logged, nothing stored); entries
of blocked domains or actors are dropped, and at most ``directory_max_entries_per_node`` kept.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

from sqlalchemy import or_, select

from node.features.directory.collection import PATH, DirectoryRefused, read_directory
from node.features.directory.local import sync_local_entries
from node.federation.admission.blocklist import BlockList
from node.federation.admission.blocks import load_blocks
from node.federation.transport import FetchError
from node.runtime.progress import Progress
from node.runtime.services import Services
from protocol.errors import N_, MalformedDocument, WordedError
from protocol.ids import origin_of
from storage.models import Follow, LocalActor, RemoteActor
from storage.models.directory import DirectoryNode
from storage.models.states import ActorKind
from storage.repositories import directory as directory_repo

log = logging.getLogger(__name__)

LEASE: Final = timedelta(minutes=5)
BATCH: Final = 8  # nodes fetched at once
MAX_BACKOFF: Final = timedelta(days=7)
DISCOVER_SECONDS: Final = 600.0
ACCEPT: Final = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


class SeedError(MalformedDocument, WordedError):
    """A seed that is not a node's URL (worded with its data, ``WordedError``)."""


@dataclass
class RefreshReport:
    fetched: int = 0
    unchanged: int = 0
    failed: int = 0
    entries: int = 0
    errors: list[str] = field(default_factory=list)


def _interval(services: Services) -> timedelta:
    return timedelta(seconds=max(3600.0, services.settings.directory_fetch_interval_seconds))


def _origin(value: str) -> str | None:
    try:
        return str(origin_of(value))
    except MalformedDocument:
        return None


def _allowed(origin: str, own: str, blocks: BlockList) -> bool:
    return origin != own and blocks.refusal(origin + "/") is None


async def known_origins(services: Services) -> dict[str, str]:
    """Origins this node federates with, and how it knows them (strongest reason first)."""
    async with services.db.read() as session:
        local = {
            ap_id: kind
            for ap_id, kind in await session.execute(select(LocalActor.ap_id, LocalActor.kind))
        }
        remote = {
            ap_id: kind
            for ap_id, kind in await session.execute(
                select(RemoteActor.ap_id, RemoteActor.actor_type).where(
                    RemoteActor.gone_at.is_(None)
                )
            )
        }
        groups = select(RemoteActor.ap_id).where(RemoteActor.actor_type == "Group")
        follows = list(
            await session.execute(
                select(Follow.follower, Follow.target).where(
                    or_(Follow.follower.in_(groups), Follow.target.in_(groups))
                )
            )
        )
    learned: dict[str, str] = {}
    rank = {"campaign": 0, "follow": 1, "peer": 2}

    def note(actor: str, how: str) -> None:
        origin = _origin(actor)
        if origin is None:
            return
        if origin not in learned or rank[how] < rank[learned[origin]]:
            learned[origin] = how

    for follower, target in follows:
        for ours, theirs in ((follower, target), (target, follower)):
            if ours in local and theirs in remote and remote[theirs] == "Group":
                note(theirs, "campaign" if local[ours] == ActorKind.CAMPAIGN else "follow")
    for actor in remote:
        note(actor, "peer")
    return learned


async def discover_nodes(services: Services, blocks: BlockList) -> int:
    """Add the origins we federate with as nodes to read (up to the cap)."""
    own = str(services.ids.origin)
    found = {
        o: how for o, how in (await known_origins(services)).items() if _allowed(o, own, blocks)
    }
    if not found:
        return 0
    async with services.db.write() as session:
        return await directory_repo.add_nodes(
            session, found, now=services.clock.now(), cap=services.settings.directory_max_nodes
        )


async def add_seed(services: Services, url: str) -> str:
    """An admin's seed: the node at ``url`` is read at the next refresh. Returns its origin."""
    origin = _origin(url.strip())
    if origin is None or not url.strip().lower().startswith(("https://", "http://")):
        raise SeedError(N_("not a node's URL: {url!r} (give https://host)"), url=url[:200])
    if origin.startswith("http://") and not services.settings.allow_http:
        raise SeedError(
            N_("{origin}: plain http is not allowed on this node (allow_http)"), origin=origin
        )
    if origin == str(services.ids.origin):
        raise SeedError(N_("{origin} is this node"), origin=origin)
    async with services.db.write() as session:
        added = await directory_repo.add_nodes(
            session,
            {origin: "seed"},
            now=services.clock.now(),
            cap=services.settings.directory_max_nodes,
        )
        if not added and await directory_repo.node_by_origin(session, origin) is None:
            raise SeedError(
                N_("the directory already reads {count} nodes (directory_max_nodes)"),
                count=services.settings.directory_max_nodes,
            )
    return origin


def _backoff(services: Services, failures: int) -> timedelta:
    wait: timedelta = _interval(services) * float(2 ** min(failures, 10))
    return min(MAX_BACKOFF, wait)


async def fetch_node(
    services: Services, node: DirectoryNode, blocks: BlockList, report: RefreshReport
) -> None:
    """Read one node's directory and settle its row (every outcome settles it)."""
    now = services.clock.now()
    conditions = {}
    if node.etag:
        conditions["If-None-Match"] = node.etag
    if node.last_modified:
        conditions["If-Modified-Since"] = node.last_modified
    url = node.origin + PATH
    try:
        if not _allowed(node.origin, str(services.ids.origin), blocks):
            raise DirectoryRefused(N_("{origin} is blocked on this node"), origin=node.origin)
        fetched = await services.transport.get_json(
            url, signer=await services.fetch_signer(), accept=ACCEPT, conditions=conditions
        )
        read = read_directory(
            fetched.document,
            node.origin,
            max_entries=services.settings.directory_max_entries_per_node,
            refused=lambda actor: blocks.refusal(actor) is not None,
        )
    except FetchError as exc:
        if exc.status == 304:
            report.unchanged += 1
            async with services.db.write() as session:
                await directory_repo.settle_node(
                    session,
                    node.id,
                    state="ok",
                    fetched_at=now,
                    failures=0,
                    last_error=None,
                    next_fetch_at=now + _interval(services),
                )
            return
        await _failed(services, node, str(exc), report)
        return
    except MalformedDocument as exc:
        log.warning("directory.refused", extra={"origin": node.origin, "reason": str(exc)})
        await _failed(services, node, f"refused: {exc}", report)
        return
    async with services.db.write() as session:
        held = await directory_repo.entries_of_origin(session, node.origin)
        gone = [a for a, e in held.items() if a not in read.entries and not e.local]
        await directory_repo.put_entries(session, read.entries, now=now)
        await directory_repo.remove_entries(session, gone)
        await directory_repo.settle_node(
            session,
            node.id,
            state="ok",
            etag=(fetched.etag or "")[:512] or None,
            last_modified=(fetched.last_modified or "")[:64] or None,
            fetched_at=now,
            failures=0,
            last_error=None,
            next_fetch_at=now + _interval(services),
        )
        own = str(services.ids.origin)
        learned = {o: "campaign" for o in read.origins if _allowed(o, own, blocks)}
        if learned:
            await directory_repo.add_nodes(
                session, learned, now=now, cap=services.settings.directory_max_nodes
            )
    report.fetched += 1
    report.entries += len(read.entries)
    log.info(
        "directory.fetched",
        extra={"origin": node.origin, "entries": len(read.entries), "dropped": read.dropped},
    )


async def _failed(
    services: Services, node: DirectoryNode, error: str, report: RefreshReport
) -> None:
    now = services.clock.now()
    report.failed += 1
    report.errors.append(f"{node.origin}: {error}")
    log.info("directory.fetch_failed", extra={"origin": node.origin, "error": error})
    async with services.db.write() as session:
        await directory_repo.settle_node(
            session,
            node.id,
            state="failing",
            fetched_at=now,
            failures=node.failures + 1,
            last_error=error[:1000],
            next_fetch_at=now + _backoff(services, node.failures),
        )


async def refresh_due(
    services: Services, *, progress: Progress | None = None, blocks: BlockList | None = None
) -> RefreshReport:
    """Read every node due now, including those learned on the way; returns when none is."""
    report = RefreshReport()
    blocks = blocks or await load_blocks(services, now=time.monotonic())
    while True:
        async with services.db.write() as session:
            due = await directory_repo.claim_due_nodes(
                session, now=services.clock.now(), lease=LEASE, limit=BATCH
            )
        if not due:
            return report
        if progress is not None:
            progress(
                N_("reading {count} directories: {origins}"),
                count=len(due),
                origins=", ".join(n.origin for n in due),
            )
        await asyncio.gather(*(fetch_node(services, n, blocks, report) for n in due))


async def refresh_now(services: Services, *, progress: Progress | None = None) -> RefreshReport:
    """``directory refresh``: our own entries, every node we know of, each read now unless it
    was read within the interval; waits until done."""
    await sync_local_entries(services)
    blocks = await load_blocks(services, now=time.monotonic())
    added = await discover_nodes(services, blocks)
    async with services.db.write() as session:
        origins = await directory_repo.entry_origins(session)
        await directory_repo.remove_origins(
            session, [o for o in origins if blocks.refusal(o + "/") is not None]
        )
        await directory_repo.make_due(
            session, now=services.clock.now(), interval=_interval(services)
        )
    if progress is not None:
        progress(N_("new nodes to read: {count}"), count=added)
    report = await refresh_due(services, progress=progress, blocks=blocks)
    # Nodes the worker (or another process) is reading now: wait for them, then read what
    # they taught us, so that "done" means done.
    deadline = time.monotonic() + LEASE.total_seconds()
    while time.monotonic() < deadline:
        async with services.db.read() as session:
            leased = await directory_repo.count_leased(session, now=services.clock.now())
        if not leased:
            break
        if progress is not None:
            progress(
                N_("waiting for {count} directories being read by another process"), count=leased
            )
        await asyncio.sleep(1.0)
        more = await refresh_due(services, progress=progress, blocks=blocks)
        report.fetched += more.fetched
        report.unchanged += more.unchanged
        report.failed += more.failed
        report.entries += more.entries
        report.errors.extend(more.errors)
    return report


async def run_directory(services: Services) -> None:
    """The worker: read the nodes due every ``directory_poll_seconds``; look for new nodes
    among the actors we hold every ``DISCOVER_SECONDS`` (that reads every remote actor)."""
    discovered = -DISCOVER_SECONDS
    while True:
        try:
            await sync_local_entries(services)
            blocks = await load_blocks(services, now=time.monotonic())
            if time.monotonic() - discovered >= DISCOVER_SECONDS:
                await discover_nodes(services, blocks)
                discovered = time.monotonic()
            await refresh_due(services, blocks=blocks)
        except Exception:  # the database may be busy or briefly down: try again next time
            log.exception("directory.refresh_failed")
        await asyncio.sleep(services.settings.directory_poll_seconds)
