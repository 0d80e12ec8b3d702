"""Fan-out benchmark: one action call to N follower inboxes spread over H receiving hosts.

The node's whole fan-out is timed: publishing the call (the ``Create`` and one queue row per
inbox, in one transaction) until every delivery is recorded as sent, through the durable queue,
signing at send time (draft-cavage, RSA-2048) and POSTing over pooled keep-alive connections to
bare receivers in another process. Baselines measured in the same run, on the same machine:

* ``ceiling``: RSA-signing the same number of requests and POSTing them to the same receivers
  over keep-alive with the node's concurrency, with no database at all (goal: the node reaches
  at least 75% of its throughput);
* ``sign``: RSA-signing them sequentially, for scale.

A third scenario puts one receiving host 200 ms away (its answers are delayed): the deliveries
to the other hosts must finish as fast as when that host is not followed at all (goal: within
25%).

Rounds are interleaved (ceiling, node, ceiling, node...) and medians reported, so drift on a
noisy machine affects both alike. Ratios, not absolute times, compare across machines.

    python -m bench.fanout [--scenarios 1000x50,10000x200] [--rounds 3] [--slow-delay 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from sqlalchemy import delete, func, insert, select

from bench.results import Row, record
from node.features.actors.authz import Principal
from node.features.actors.local import create_actor
from node.features.calls.lifecycle import create_action
from node.federation.delivery.dispatcher import DeliveryWorker
from node.ops.cluster import free_port
from node.runtime.app import close_services, open_services, settle_heap
from node.runtime.clock import SystemClock
from node.runtime.config import Settings
from node.runtime.services import Services
from protocol.httpsig import HttpRequest, sign_request_cavage
from protocol.keys import generate_rsa_key
from storage.models import Delivery, Follow
from storage.models.delivery import SENT
from storage.models.follow import ACCEPTED
from storage.repositories.deliveries import ClaimedDelivery

ROOT = Path(__file__).resolve().parents[1]
GOAL_SHARE = 0.75  # of the ceiling's throughput
GOAL_SLOW = 1.25  # others' time with a slow receiver, against their time without it
CALL = {
    "title": "Global day of action",
    "description": "<p>Clean the river banks with us.</p>",
    "start": "2027-04-12T10:00:00+01:00",
    "end": "2027-04-12T13:00:00+01:00",
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Sinks:
    """Bare receivers in their own process (``bench.sinks``), the first ``slow`` ones late."""

    def __init__(self, count: int, *, slow: int = 0, delay: float = 0.2) -> None:
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.sinks",
                str(count),
                "--slow",
                str(slow),
                "--delay",
                str(delay),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        words = self._proc.stdout.readline().split()
        if not words or words[0] != "ready":
            self.close()
            raise RuntimeError("the receiving sinks did not start")
        self.ports = [int(w) for w in words[1:]]

    def inboxes(self, followers: int) -> list[str]:
        hosts = len(self.ports)
        return [
            f"http://127.0.0.1:{self.ports[i % hosts]}/actors/f{i}/inbox" for i in range(followers)
        ]

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait()


@dataclass(frozen=True, slots=True)
class Timing:
    wall: float  # seconds until every delivery was answered and recorded
    others: float  # seconds until every delivery to a host not in ``slow`` was answered
    cpu: float  # CPU seconds of this process (all threads) in that time


class _TimedWorker(DeliveryWorker):
    """The node's delivery worker, noting when the deliveries we wait for are answered."""

    def __init__(self, services: object, inboxes: list[str], slow: frozenset[str]) -> None:
        super().__init__(services)  # type: ignore[arg-type]
        self.started = time.perf_counter()
        self.others_done = 0.0
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
        if self._left == 0:
            self.all_answered.set()


async def measure_node(
    inboxes: list[str], data: Path, slow: frozenset[str] = frozenset()
) -> Timing:
    settings = Settings(
        data_dir=data,
        base_url=f"http://127.0.0.1:{free_port()}",
        allow_private_network=True,
        run_workers=False,
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
        # Wait for the answers without stealing the node's CPU, then for their durable record.
        await worker.all_answered.wait()
        while True:
            async with services.db.read() as session:
                sent = await session.scalar(
                    select(func.count()).select_from(Delivery).where(Delivery.state == SENT)
                )
            if sent == len(inboxes) + 1:  # and the warm-up's
                break
            await asyncio.sleep(0.005)
        wall = time.perf_counter() - started
        cpu = cpu_seconds() - cpu
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        return Timing(wall, worker.others_done, cpu)
    finally:
        await close_services(services)


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


def _request(inbox: str, body: bytes) -> HttpRequest:
    return HttpRequest.from_mapping(
        "POST", inbox, {"Content-Type": "application/activity+json"}, body
    )


def measure_signing(inboxes: list[str], key: RSAPrivateKey, body: bytes) -> float:
    clock = SystemClock()
    started = time.perf_counter()
    for inbox in inboxes:
        sign_request_cavage(
            _request(inbox, body), key_id="https://x.example/k", private_key=key, now=clock.now()
        )
    return time.perf_counter() - started


async def measure_ceiling(
    inboxes: list[str], key: RSAPrivateKey, body: bytes, concurrency: int
) -> Timing:
    """Sign and POST every request with no queue and no database: what the node aims at."""
    clock = SystemClock()
    semaphore = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(inbox: str) -> None:
            async with semaphore:
                signed = sign_request_cavage(
                    _request(inbox, body),
                    key_id="https://x.example/k",
                    private_key=key,
                    now=clock.now(),
                )
                async with session.post(inbox, data=body, headers=dict(signed.headers)) as resp:
                    await resp.read()

        cpu = cpu_seconds()
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in inboxes))
        wall = time.perf_counter() - started
        return Timing(wall, wall, cpu_seconds() - cpu)


@dataclass(frozen=True, slots=True)
class Scenario:
    followers: int
    hosts: int
    sign: float
    ceiling: Timing
    node: Timing

    @property
    def share(self) -> float:
        return self.ceiling.wall / self.node.wall


async def run_scenario(followers: int, hosts: int, rounds: int, body: bytes) -> Scenario:
    concurrency = Settings(
        data_dir=Path("."), base_url="https://bench.example"
    ).delivery_concurrency
    key = generate_rsa_key(2048)
    sinks = Sinks(hosts)
    try:
        inboxes = sinks.inboxes(followers)
        sign = measure_signing(inboxes, key, body)
        ceilings, nodes = [], []
        for _ in range(rounds):
            ceilings.append(await measure_ceiling(inboxes, key, body, concurrency))
            with tempfile.TemporaryDirectory() as tmp:
                nodes.append(await measure_node(inboxes, Path(tmp)))
    finally:
        sinks.close()
    return Scenario(followers, hosts, sign, _median(ceilings), _median(nodes))


@dataclass(frozen=True, slots=True)
class SlowScenario:
    followers: int
    hosts: int
    delay: float
    without: Timing  # the slow host's followers left out
    with_slow: Timing

    @property
    def ratio(self) -> float:
        return self.with_slow.others / self.without.wall


async def run_slow(followers: int, hosts: int, delay: float, rounds: int) -> SlowScenario:
    sinks = Sinks(hosts, slow=1, delay=delay)
    try:
        inboxes = sinks.inboxes(followers)
        slow = frozenset({f"127.0.0.1:{sinks.ports[0]}"})
        others = [i for i in inboxes if urlsplit(i).netloc not in slow]
        without, with_slow = [], []
        for _ in range(rounds):
            with tempfile.TemporaryDirectory() as tmp:
                without.append(await measure_node(others, Path(tmp)))
            with tempfile.TemporaryDirectory() as tmp:
                with_slow.append(await measure_node(inboxes, Path(tmp), slow))
    finally:
        sinks.close()
    return SlowScenario(
        followers,
        hosts,
        delay,
        _median(without),
        min(with_slow, key=lambda t: t.others) if rounds == 1 else _median(with_slow, "others"),
    )


def _median(timings: list[Timing], by: str = "wall") -> Timing:
    ordered = sorted(timings, key=lambda t: getattr(t, by))
    return ordered[len(ordered) // 2]


def report(scenarios: list[Scenario], slow: SlowScenario | None) -> list[Row]:
    print(
        "| fan-out | sign only (s) | ceiling (s) | node (s) | node deliveries/s | node CPU s "
        "| share of ceiling |"
    )
    print("|---|---|---|---|---|---|---|")
    rows = []
    for s in scenarios:
        print(
            f"| {s.followers:,} inboxes on {s.hosts} hosts | {s.sign:.2f} | {s.ceiling.wall:.2f} | "
            f"{s.node.wall:.2f} | {s.followers / s.node.wall:,.0f} | {s.node.cpu:.2f} "
            f"| {s.share:.0%} |"
        )
        rows.append(
            Row(
                benchmark=f"fan-out, {s.followers:,} inboxes on {s.hosts} hosts",
                measure="deliveries/s (signed, sent, recorded)",
                value=f"{s.followers / s.node.wall:,.0f}/s ({s.node.wall:.2f} s)",
                baseline=f"{s.followers / s.ceiling.wall:,.0f}/s sign+POST, no database",
                ratio=f"{s.share:.0%}",
                goal=f"≥ {GOAL_SHARE:.0%} of ceiling",
                met=s.share >= GOAL_SHARE,
            )
        )
    if slow is not None:
        print(
            f"\none of {slow.hosts} hosts {1000 * slow.delay:.0f} ms away: the other hosts' "
            f"{slow.followers - slow.followers // slow.hosts:,} deliveries took "
            f"{slow.with_slow.others:.2f} s, against {slow.without.wall:.2f} s when that host is "
            f"not followed ({slow.ratio:.2f}×); all {slow.followers:,} in {slow.with_slow.wall:.2f} s"
        )
        rows.append(
            Row(
                benchmark=f"fan-out, one of {slow.hosts} hosts {1000 * slow.delay:.0f} ms away",
                measure="seconds until the other hosts have it",
                value=f"{slow.with_slow.others:.2f} s",
                baseline=f"{slow.without.wall:.2f} s without that host",
                ratio=f"{slow.ratio:.2f}×",
                goal=f"others unaffected (≤ {GOAL_SLOW:.2f}×)",
                met=slow.ratio <= GOAL_SLOW,
            )
        )
    return rows


def parse_scenarios(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        followers, _, hosts = part.strip().replace("_", "").partition("x")
        out.append((int(followers), int(hosts)))
    return out


async def run(args: argparse.Namespace) -> list[Row]:
    settle_heap()  # the garbage collector set up as in ``serve`` and ``worker``
    body = orjson.dumps({"type": "Create", "id": "https://x.example/a", "object": CALL})
    scenarios = []
    for followers, hosts in parse_scenarios(args.scenarios):
        print(
            f"fan-out to {followers:,} inboxes on {hosts} hosts, {args.rounds} rounds...",
            flush=True,
        )
        scenarios.append(await run_scenario(followers, hosts, args.rounds, body))
    slow = None
    if args.slow_delay > 0:
        print(f"fan-out with one receiver {1000 * args.slow_delay:.0f} ms away...", flush=True)
        slow = await run_slow(1000, 50, args.slow_delay, args.rounds)
    return report(scenarios, slow)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scenarios",
        default="1000x50,10000x200",
        help="comma-separated FOLLOWERSxHOSTS (default: 1000x50,10000x200)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median kept)")
    parser.add_argument(
        "--slow-delay",
        type=float,
        default=0.2,
        help="seconds one receiver waits before answering in the last scenario (0: skip it)",
    )
    args = parser.parse_args()
    try:
        parse_scenarios(args.scenarios)
    except ValueError:
        parser.error(f"--scenarios must look like 1000x50,10000x200, got {args.scenarios!r}")
    if args.rounds < 1 or args.slow_delay < 0:
        parser.error("--rounds must be positive and --slow-delay not negative")
    os.environ.setdefault("CHAPTERHOUSE_LOG_LEVEL", "WARNING")
    record(_event_loop_runner()(run(args)))


def _event_loop_runner() -> Callable[[Coroutine[Any, Any, list[Row]]], list[Row]]:
    """The event loop ``serve`` and ``worker`` would use (setting ``event_loop``, from
    ``CHAPTERHOUSE_EVENT_LOOP`` here), for the node and the ceiling alike."""
    if os.environ.get("CHAPTERHOUSE_EVENT_LOOP", "asyncio") == "uvloop":
        import uvloop

        return uvloop.run
    return asyncio.run


if __name__ == "__main__":
    main()
