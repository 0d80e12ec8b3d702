"""Two web processes and two worker processes on one PostgreSQL database: every delivery is
sent once, none is lost, and every inbound activity is handled once."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from node.features.following.follow import follow
from node.ops.cluster import NodeProcess, spawn, stop_processes
from storage.engine import open_database
from storage.models import Delivery, OutboxActivity
from tests.rig.api import call_api
from tests.rig.bulk import add_followers
from tests.rig.database import fresh_database_url, on_postgresql
from tests.rig.nodes import acli, eventually, free_port
from tests.rig.sink import Sink

pytestmark = pytest.mark.skipif(
    not on_postgresql(), reason="needs CHAPTERHOUSE_TEST_DATABASE_URL (PostgreSQL)"
)

SINKS, PER_SINK = 20, 10  # 200 follower inboxes


async def test_two_web_and_two_worker_processes_share_one_database(tmp_path, nodes):
    data = tmp_path / "hub"
    web_ports = [free_port(), free_port()]
    database_url = await fresh_database_url(tmp_path)
    env = {
        "CHAPTERHOUSE_DATABASE_URL": database_url,
        "CHAPTERHOUSE_DELIVERY_POLL_SECONDS": "0.1",
        "CHAPTERHOUSE_DELIVERY_CONCURRENCY": "8",
    }
    base = f"http://127.0.0.1:{web_ports[0]}"
    await acli("init", "--data", str(data), "--base-url", base, "--allow-private-network", env=env)
    chapter = (
        await acli("chapter", "create", "greenpark", "--data", str(data), env=env)
    ).stdout.strip()
    added = (
        await acli(
            "member",
            "add",
            "olga",
            "--data",
            str(data),
            "--chapter",
            "greenpark",
            "--role",
            "organiser",
            env=env,
        )
    ).stdout.splitlines()
    token = added[1].removeprefix("token: ")

    sinks = [await Sink(delay=0.02).start() for _ in range(SINKS)]
    inboxes = [f"{s.base_url}/actors/f{i}/inbox" for s in sinks for i in range(PER_SINK)]
    db = open_database(database_url)
    await add_followers(db, chapter, [(inbox.removesuffix("/inbox"), inbox) for inbox in inboxes])

    webs = [
        NodeProcess(
            data, port, env=env, serve_args=("--workers", "0"), log_file=tmp_path / f"web{port}.log"
        )
        for port in web_ports
    ]
    for web in webs:
        web.spawn()
    workers = [
        spawn(
            ["worker", "--data", str(data)],
            env={**os.environ, **env},
            log=tmp_path / f"worker{i}.log",
        )
        for i in range(2)
    ]
    try:
        for web in webs:
            web.wait_listening()
        # Publish through the second web process; the workers (not the web processes) deliver.
        status, call = await call_api(
            f"http://127.0.0.1:{web_ports[1]}",
            token,
            "POST",
            "/api/v1/chapters/greenpark/actions",
            {
                "title": "Global day",
                "start": "2027-04-12T10:00:00+00:00",
                "end": "2027-04-12T12:00:00+00:00",
            },
        )
        assert status == 201, call

        def received() -> Counter[str]:
            return Counter(
                f"{s.base_url}{r.path}"
                for s in sinks
                for r in s.received
                if r.body.get("type") == "Create"
            )

        async def all_in() -> bool:
            async with db.read() as session:
                sent = await session.scalar(
                    select(func.count()).select_from(Delivery).where(Delivery.state == "sent")
                )
            return set(received()) >= set(inboxes) and sent >= len(inboxes)

        await eventually(all_in, timeout=60, what="the call to reach all 200 inboxes")
        counts = received()
        assert all(counts[inbox] == 1 for inbox in inboxes), [i for i in inboxes if counts[i] != 1]

        # An inbound Follow through the first web process is handled exactly once by the workers.
        member_node = await nodes()
        await member_node.member("rita")
        await follow(member_node.services, "rita", chapter)

        async def accepted_once() -> bool:
            async with db.read() as session:
                accepts = await session.scalar(
                    select(func.count())
                    .select_from(OutboxActivity)
                    .where(OutboxActivity.activity_type == "Accept")
                )
            return accepts == 1

        await eventually(accepted_once, what="one Accept for the follow")
        time_before = time.monotonic()
        while time.monotonic() - time_before < 1.0:  # and never a second one
            assert await accepted_once()
            await asyncio.sleep(0.1)
    finally:
        stop_processes([*(web.process for web in webs), *workers])
        for sink in sinks:
            await sink.stop()
        await db.dispose()
