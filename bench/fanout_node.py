"""The node's side of the fan-out benchmark (``bench.fanout``): a fresh node publishes one
action call to N follower inboxes and is timed until the deliveries are answered and recorded.

Kept apart from the scenarios and the table so that other benchmarks (and the planet's
validation) can time a real fan-out the same way.
"""

from __future__ import annotations

import asyncio
import resource
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, delete, func, insert, select

from bench.rig import create_database, drop_database
from node.features.actors.authz import Principal
from node.features.actors.local import create_actor
from node.features.calls.lifecycle import create_action
from node.federation.delivery.dispatcher import DeliveryWorker
from node.ops.cluster import free_port
from node.runtime.app import close_services, open_services
from node.runtime.config import Settings
from node.runtime.services import Services
from storage.models import Delivery, Follow
from storage.models.delivery import SENT
from storage.models.follow import ACCEPTED
from storage.repositories.deliveries import ClaimedDelivery

CALL = {
    "title": "Global day of action",
    "description": "<p>Clean the river banks with us.</p>",
    "start": "2027-04-12T10:00:00+01:00",
    "end": "2027-04-12T13:00:00+01:00",
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True, slots=True)
class Timing:
    wall: float  # seconds until every delivery was answered and recorded
    others: float  # seconds until every delivery to a host not in ``slow`` was answered
    cpu: float  # CPU seconds of this process (all threads) in that time
    others_recorded: float = 0.0  # ...answered and recorded as sent (the ceiling records none)


class _TimedWorker(DeliveryWorker):
    """The node's delivery worker, noting when the deliveries we wait for are answered."""

    def __init__(self, services: object, inboxes: list[str], slow: frozenset[str]) -> None:
        super().__init__(services)  # type: ignore[arg-type]
        self.started = time.perf_counter()
        self.others_done = 0.0
        self.others_answered = asyncio.Event()
        self.all_answered = asyncio.Event()
        self._left = len(inboxes)
        self._others_left = sum(1 for i in inboxes if urlsplit(i).netloc not in slow)
        self._slow = slow

    async def _deliver(self, row: ClaimedDelivery) -> None:
        await super()._deliver(row)
        self._left -= 1
        if row.host not in self._slow:
            self._others_left -= 1
            if self._others_left == 0:
                self.others_done = time.perf_counter() - self.started
                self.others_answered.set()
        if self._left == 0:
            self.all_answered.set()


async def measure_node(
    inboxes: list[str],
    data: Path,
    slow: frozenset[str] = frozenset(),
    database_url: str | None = None,
) -> Timing:
    """One fan-out by a fresh node (on SQLite in ``data``, or on ``database_url``)."""
    settings = Settings(
        data_dir=data,
        base_url=f"http://127.0.0.1:{free_port()}",
        allow_private_network=True,
        run_workers=False,
        database_url=database_url or "",
    )
    services = await open_services(settings)
    try:
        chapter = (await create_actor(services, "greenpark", "chapter")).actor
        admin = (await create_actor(services, "admin", "member", role="admin")).actor
        organiser = Principal(admin, "admin")
        # A warm-up call to one other inbox first: a running node has its SQL compiled and its
        # key loaded; what is measured is the fan-out, not the first query of a cold process.
        warm_up = inboxes[0].split("/actors/", 1)[0] + "/actors/warm-up/inbox"
        await _add_followers(services, chapter.ap_id, [warm_up])
        await create_action(services, organiser, "greenpark", {**CALL, "title": "Warm-up"})
        await DeliveryWorker(services).run_once()
        async with services.db.write() as session:
            await session.execute(delete(Follow).where(Follow.follower_inbox == warm_up))
        await _add_followers(services, chapter.ap_id, inboxes)
        worker = _TimedWorker(services, inboxes, slow)
        runner = asyncio.create_task(worker.run())
        cpu = cpu_seconds()
        worker.started = started = time.perf_counter()
        await create_action(services, organiser, "greenpark", CALL)
        services.wakeups.deliveries.set()
        # Wait for the answers without stealing the node's CPU, then for their durable record:
        # the other hosts' first, then everyone's (the same thing when no host is slow).
        others_recorded = 0.0
        if slow:
            await worker.others_answered.wait()
            others = sum(1 for i in inboxes if urlsplit(i).netloc not in slow)
            await _until_sent(services, others, Delivery.host.not_in(slow))
            others_recorded = time.perf_counter() - started
        await worker.all_answered.wait()
        await _until_sent(services, len(inboxes))
        wall = time.perf_counter() - started
        if not slow:
            others_recorded = wall
        cpu = cpu_seconds() - cpu
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        return Timing(wall, worker.others_done, cpu, others_recorded)
    finally:
        await close_services(services)


async def _until_sent(services: Services, count: int, *where: ColumnElement[bool]) -> None:
    """Poll until ``count`` deliveries (those ``where`` selects; never the warm-up's, which
    went to its own inbox) are recorded as sent."""
    while True:
        async with services.db.read() as session:
            sent = await session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.state == SENT, ~Delivery.inbox.endswith("/warm-up/inbox"), *where)
            )
        if sent == count:
            return
        await asyncio.sleep(0.005)


async def _add_followers(services: Services, target: str, inboxes: list[str]) -> None:
    now = services.clock.now()
    async with services.db.write() as session:
        await session.execute(
            insert(Follow),
            [
                {
                    "activity_id": f"{inbox}#follow",
                    "follower": inbox.removesuffix("/inbox"),
                    "target": target,
                    "follower_inbox": inbox,
                    "state": ACCEPTED,
                    "created_at": now,
                    "updated_at": now,
                }
                for inbox in inboxes
            ],
        )


@asynccontextmanager
async def node_database(postgres: str | None) -> AsyncIterator[str | None]:
    """A scratch database on the PostgreSQL server ``postgres`` (dropped afterwards), or None:
    the node then uses SQLite in its data directory."""
    if postgres is None:
        yield None
        return
    url = await create_database(postgres, "bench_fanout_")
    try:
        yield url
    finally:
        await drop_database(postgres, url)


async def fresh_node(
    inboxes: list[str], postgres: str | None, slow: frozenset[str] = frozenset()
) -> Timing:
    """``measure_node`` on a data directory (and, on PostgreSQL, a database) of its own."""
    async with node_database(postgres) as url:
        with tempfile.TemporaryDirectory() as tmp:
            return await measure_node(inboxes, Path(tmp), slow, url)
