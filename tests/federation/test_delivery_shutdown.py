"""A node shut down while deliveries are in flight gives them back: due again at once, the
attempt not charged, so the node sends them as soon as it is back (not after their lease)."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.engine import open_database, sqlite_url
from storage.models import Delivery
from tests.federation.test_delivery_faults import chapter_node, deliveries, publish
from tests.rig.bulk import add_followers
from tests.rig.nodes import NodeProcess, cli, eventually, free_port
from tests.rig.sink import Sink

LEASE = 600  # seconds: far longer than the test, so only a given-back lease lets it pass


async def _stored(url: str) -> list[Delivery]:
    db = open_database(url)
    try:
        async with db.read() as session:
            return list(await session.scalars(select(Delivery).order_by(Delivery.id)))
    finally:
        await db.dispose()


async def test_shutdown_gives_in_flight_deliveries_back(nodes):
    node, chapter, token = await chapter_node(nodes, delivery_lease_seconds=LEASE)
    slow = await Sink(delay=3600).start()  # takes the request, never answers within the test
    try:
        await add_followers(node, chapter, [(f"{slow.base_url}/actor", slow.inbox)])
        await publish(node, token)

        async def in_flight() -> bool:
            return len(slow.received) == 1

        await eventually(in_flight, timeout=5, what="the delivery to reach the slow receiver")
        [leased] = await deliveries(node)
        assert leased.state == "pending" and leased.locked_until is not None

        await asyncio.wait_for(node.stop(), 10)  # graceful: cancels and awaits the delivery

        [row] = await _stored(node.services.settings.database_url)
        assert row.state == "pending"
        assert row.locked_until is None  # the lease was given back...
        assert row.next_attempt_at <= datetime.now(UTC)  # ...and the row is due now
        assert row.attempts == 0  # the interrupted attempt is not charged
        assert row.last_error is None

        slow.delay = 0  # the receiver answers from now on
        again = await nodes.restart(node)

        async def sent() -> bool:
            return [r.state for r in await deliveries(again)] == ["sent"]

        await eventually(sent, timeout=5, what="the restarted node to send it at once")
        assert len(slow.received) == 2
        assert (await deliveries(again))[0].attempts == 1
    finally:
        await slow.stop()


@pytest.fixture
def sender(tmp_path: Path):
    node = NodeProcess(
        tmp_path / "sender",
        free_port(),
        env={"CHAPTERHOUSE_DELIVERY_LEASE_SECONDS": str(LEASE)},
    )
    yield node
    node.stop(signal.SIGKILL)


async def test_sigterm_on_serve_gives_in_flight_deliveries_back(sender):
    """The same through ``chapterhouse serve`` in its own process, stopped by SIGTERM."""
    sender.init()
    data = str(sender.data_dir)
    chapter = cli("chapter", "create", "greenpark", "--data", data).stdout.strip()
    cli("member", "add", "olga", "--data", data, "--chapter", "greenpark", "--role", "organiser")
    slow = await Sink(delay=3600).start()
    url = sqlite_url(str(sender.data_dir / "chapterhouse.db"))
    db = open_database(url)
    try:
        await add_followers(db, chapter, [(f"{slow.base_url}/actor", slow.inbox)])
    finally:
        await db.dispose()
    try:
        sender.start()
        cli(
            *("action", "create", "--data", data, "--as", "olga", "--chapter", "greenpark"),
            *("--title", "Canal clean-up", "--start", "2027-04-12T10:00:00+01:00"),
            *("--end", "2027-04-12T13:00:00+01:00"),
        )

        async def in_flight() -> bool:
            return len(slow.received) == 1

        await eventually(in_flight, timeout=10, what="the delivery to reach the slow receiver")
        process = sender.process
        assert process is not None
        await asyncio.to_thread(sender.stop, signal.SIGTERM)
        assert process.returncode == 0, sender.log_tail()

        [row] = await _stored(url)
        assert (row.state, row.locked_until, row.attempts) == ("pending", None, 0)
        assert row.next_attempt_at <= datetime.now(UTC)

        slow.delay = 0
        sender.start()

        async def sent() -> bool:
            return [r.state for r in await _stored(url)] == ["sent"]

        await eventually(sent, timeout=10, what="the restarted node to send it at once")
        assert len(slow.received) == 2
    finally:
        await slow.stop()
