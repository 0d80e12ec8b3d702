"""The follow-up worker: caps in flight overall and per host, backoff, dead rows, and leases that
bring back what a crashed worker held."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from node.federation.followups.queue import PermanentFailure, RetryLater, enqueue, follow_up
from node.federation.followups.worker import FollowUpWorker
from node.runtime.clock import FrozenClock
from storage.models import FollowUp
from storage.repositories import follow_ups as follow_up_repo
from tests.rig.nodes import Node, eventually

NOW = datetime(2027, 4, 12, 9, 0, tzinfo=UTC)


async def record(node: Node, *items: tuple[str, str, str]) -> None:
    """(kind, key, url) follow-ups, as a handler records them."""
    async with node.services.db.write() as session:
        await enqueue(
            session,
            node.services,
            *(
                follow_up(kind, key, {"key": key, "url": url}, about=url)
                for kind, key, url in items
            ),
        )


async def by_key(node: Node) -> dict[str, FollowUp]:
    async with node.services.db.read() as session:
        return {row.key: row for row in await session.scalars(select(FollowUp))}


async def test_at_most_n_in_flight_and_two_per_host(nodes):
    node = await nodes(run_workers=False, follow_up_concurrency=4, follow_up_per_host=2)
    in_flight: Counter[str] = Counter()
    peaks: Counter[str] = Counter()
    overall: list[int] = []
    done: list[str] = []

    async def fetch(_services, payload) -> None:
        host = payload["url"].split("/")[2]
        in_flight[host] += 1
        peaks[host] = max(peaks[host], in_flight[host])
        overall.append(sum(in_flight.values()))
        await asyncio.sleep(0.02)
        in_flight[host] -= 1
        done.append(payload["key"])

    hosts = ["a.example", "b.example", "c.example"]
    await record(
        node, *(("fetch", f"{h}-{i}", f"https://{h}/r/{i}") for h in hosts for i in range(8))
    )
    await record(node, *(("fetch", f"solo-{i}", f"https://h{i}.example/r") for i in range(8)))
    worker = FollowUpWorker(node.services, {"fetch": fetch})
    task = asyncio.create_task(worker.run())

    async def all_ran_and_recorded() -> bool:
        # The handler returns before the worker records its outcome: wait for both.
        states = {row.state for row in (await by_key(node)).values()}
        return len(done) == 32 and states == {"done"}

    try:
        await eventually(all_ran_and_recorded, what="every follow-up to run and be recorded")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert max(peaks.values()) == 2 and all(peaks[h] == 2 for h in hosts)
    assert max(overall) == 4
    assert len(done) == 32


async def test_failures_back_off_refusals_are_dead_and_attempts_run_out(nodes):
    clock = FrozenClock(NOW)
    node = await nodes(
        run_workers=False,
        clock=clock,
        follow_up_retry_base_seconds=10.0,
        follow_up_max_attempts=3,
        follow_up_timeout_seconds=0.2,
        follow_up_lease_seconds=1.0,
    )

    async def ok(_services, _payload) -> None:
        return None

    async def flaky(_services, _payload) -> None:
        raise RetryLater("the origin answered 503")

    async def refused(_services, _payload) -> None:
        raise PermanentFailure("not a report")

    async def crashes(_services, _payload) -> None:
        raise KeyError("a bug")

    async def hangs(_services, _payload) -> None:
        await asyncio.sleep(30)

    handlers = {"ok": ok, "flaky": flaky, "refused": refused, "crashes": crashes, "hangs": hangs}
    kinds = [*handlers, "unknown"]
    await record(node, *((kind, kind, f"https://{kind}.example/x") for kind in kinds))
    worker = FollowUpWorker(node.services, handlers)
    assert await worker.run_once() == len(kinds)
    rows = await by_key(node)
    assert rows["ok"].state == "done"
    assert (rows["refused"].state, rows["refused"].last_error) == ("dead", "not a report")
    assert rows["unknown"].state == "dead" and "no handler" in (rows["unknown"].last_error or "")
    for kind in ("flaky", "crashes", "hangs"):
        row = rows[kind]
        assert (row.state, row.attempts) == ("pending", 1), kind
        assert NOW + timedelta(seconds=10) <= row.next_attempt_at <= NOW + timedelta(seconds=12.5)
    assert "KeyError" in (rows["crashes"].last_error or "")
    assert "not finished within" in (rows["hangs"].last_error or "")

    assert await worker.run_once() == 0  # not due yet
    clock.advance(timedelta(seconds=13))
    assert await worker.run_once() == 3
    row = (await by_key(node))["flaky"]
    assert row.attempts == 2
    assert NOW + timedelta(seconds=33) <= row.next_attempt_at <= NOW + timedelta(seconds=38)
    clock.advance(timedelta(seconds=26))
    assert await worker.run_once() == 3
    row = (await by_key(node))["flaky"]
    assert (row.state, row.attempts) == ("dead", 3)
    assert row.last_error == "gave up after 3 attempts: RetryLater: the origin answered 503"


async def test_what_a_crashed_worker_held_runs_once_its_lease_expires(nodes):
    clock = FrozenClock(NOW)
    node = await nodes(run_workers=False, clock=clock)
    ran: list[str] = []

    async def fetch(_services, payload) -> None:
        ran.append(payload["key"])

    await record(node, ("fetch", "1", "https://a.example/1"))
    async with node.services.db.write() as session:  # a worker claims it, then its process dies
        lease = timedelta(seconds=node.services.settings.follow_up_lease_seconds)
        assert await follow_up_repo.claim_due(session, now=NOW, lease=lease, limit=1)
    worker = FollowUpWorker(node.services, {"fetch": fetch})
    assert await worker.run_once() == 0 and ran == []
    clock.advance(lease + timedelta(seconds=1))
    assert await worker.run_once() == 1 and ran == ["1"]
    assert (await by_key(node))["1"].state == "done"
