"""A node killed with SIGKILL in the middle of a fan-out finishes it after restart, and every
receiver applies the activity exactly once."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.engine import open_database, sqlite_url
from storage.models import ActionCall, Delivery, InboxItem
from tests.rig.bulk import add_followers, bulk_members
from tests.rig.nodes import NodeProcess, cli, eventually, free_port

RECEIVERS = 4
PER_RECEIVER = 50  # 200 follower inboxes in all


@pytest.fixture
def sender(tmp_path: Path):
    node = NodeProcess(
        tmp_path / "sender",
        free_port(),
        env={
            "CHAPTERHOUSE_DELIVERY_CONCURRENCY": "4",
            "CHAPTERHOUSE_DELIVERY_PER_HOST": "1",
            "CHAPTERHOUSE_DELIVERY_LEASE_SECONDS": "2",
        },
    )
    yield node
    node.stop(signal.SIGKILL)


async def test_sigkill_mid_fanout_then_restart_delivers_everything_once(sender, nodes):
    sender.init()
    chapter = cli("chapter", "create", "greenpark", "--data", str(sender.data_dir)).stdout.strip()
    cli(
        "member",
        "add",
        "olga",
        "--data",
        str(sender.data_dir),
        "--chapter",
        "greenpark",
        "--role",
        "organiser",
    )

    receivers = [await nodes() for _ in range(RECEIVERS)]
    inboxes: list[str] = []
    for i, receiver in enumerate(receivers):
        members = await bulk_members(receiver, f"m{i}x", PER_RECEIVER)
        await add_followers(
            receiver, chapter, [(members[0], None)]
        )  # so the receiver keeps the call
        inboxes += [f"{m}/inbox" for m in members]
        receiver.inbox_delay = 0.05  # slow enough to kill the sender half-way
    db = open_database(sqlite_url(str(sender.data_dir / "chapterhouse.db")))
    try:
        await add_followers(
            db, chapter, [(inbox.removesuffix("/inbox"), inbox) for inbox in inboxes]
        )
    finally:
        await db.dispose()

    sender.start()
    call_id = cli(
        "action",
        "create",
        "--data",
        str(sender.data_dir),
        "--as",
        "olga",
        "--chapter",
        "greenpark",
        "--title",
        "Global day of action",
        "--start",
        "2027-04-12T10:00:00+01:00",
        "--end",
        "2027-04-12T13:00:00+01:00",
    ).stdout.strip()

    def delivered() -> set[str]:
        return {f"http://127.0.0.1:{r.port}{h.path}" for r in receivers for h in r.inbox_hits()}

    async def some_delivered() -> bool:
        return len(delivered()) >= 30

    await eventually(some_delivered, timeout=60, interval=0.01, what="the fan-out to be under way")
    sender.stop(signal.SIGKILL)
    halfway = len(delivered())
    assert halfway < len(inboxes), "the fan-out finished before the crash; the test proved nothing"

    sender.start()

    async def all_delivered() -> bool:
        return delivered() >= set(inboxes)

    await eventually(
        all_delivered, timeout=90, interval=0.1, what="every inbox to receive the call"
    )

    db = open_database(sqlite_url(str(sender.data_dir / "chapterhouse.db")))
    try:

        async def all_sent() -> bool:
            async with db.read() as session:
                states = dict(
                    (
                        await session.execute(
                            select(Delivery.state, func.count()).group_by(Delivery.state)
                        )
                    ).all()
                )
            return states == {"sent": len(inboxes)}

        await eventually(all_sent, timeout=30, what="the sender to record every delivery as sent")
    finally:
        await db.dispose()

    await asyncio.sleep(0.5)  # let the receivers' inbox workers finish
    for receiver in receivers:
        async with receiver.services.db.read() as session:
            creates = await session.scalar(
                select(func.count())
                .select_from(InboxItem)
                .where(InboxItem.activity_type == "Create")
            )
            calls = list(await session.scalars(select(ActionCall.ap_id)))
        assert creates == 1  # however many times it was POSTed, it was stored once
        assert calls == [call_id]  # and applied once
