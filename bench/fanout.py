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
25%). Both runs time the same thing: from publishing until every delivery to the other hosts
has been answered (and, printed beside it, until those answers are also recorded as sent).

Rounds are interleaved (ceiling, node, ceiling, node...) and medians reported, so drift on a
noisy machine affects both alike. Ratios, not absolute times, compare across machines.

Each scenario runs on SQLite and, when a server is named (``--postgres-url`` or
``CHAPTERHOUSE_BENCH_DATABASE_URL``, e.g. ``postgresql+asyncpg://chapterhouse@127.0.0.1:5433/
postgres``), on PostgreSQL too: every node round gets a scratch database of its own there,
dropped afterwards. The goals are the same on both.

    python -m bench.fanout [--scenarios 1000x50,10000x200] [--rounds 3] [--slow-delay 0.2]
                           [--database sqlite|postgresql|both] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from bench.fanout_node import CALL, Timing, cpu_seconds, fresh_node, measure_node
from bench.results import Row, record
from node.runtime.app import settle_heap
from node.runtime.clock import SystemClock
from node.runtime.config import Settings
from protocol.httpsig import HttpRequest, sign_request_cavage
from protocol.keys import generate_rsa_key

__all__ = ["CALL", "Timing", "measure_node"]  # the node's side lives in bench.fanout_node

ROOT = Path(__file__).resolve().parents[1]
GOAL_SHARE = 0.75  # of the ceiling's throughput
GOAL_SLOW = 1.25  # others' time with a slow receiver, against their time without it
ENV_POSTGRES = "CHAPTERHOUSE_BENCH_DATABASE_URL"
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


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
        return Timing(wall, wall, cpu_seconds() - cpu, wall)


@dataclass(frozen=True, slots=True)
class Scenario:
    followers: int
    hosts: int
    sign: float
    ceiling: Timing
    node: Timing
    database: str = "sqlite"

    @property
    def share(self) -> float:
        return self.ceiling.wall / self.node.wall


async def run_scenario(
    followers: int, hosts: int, rounds: int, body: bytes, postgres: str | None = None
) -> Scenario:
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
            nodes.append(await fresh_node(inboxes, postgres))
    finally:
        sinks.close()
    database = "postgresql" if postgres else "sqlite"
    return Scenario(followers, hosts, sign, _median(ceilings), _median(nodes), database)


@dataclass(frozen=True, slots=True)
class SlowScenario:
    """One host slow, against the same fan-out with that host not followed at all. Both sides
    are the same quantity: the time until every delivery to the other hosts is answered."""

    followers: int
    hosts: int
    delay: float
    without: Timing  # the slow host's followers left out
    with_slow: Timing
    database: str = "sqlite"

    @property
    def ratio(self) -> float:
        return self.with_slow.others / self.without.others

    @property
    def recorded_ratio(self) -> float:
        """The same, until those deliveries are also recorded as sent."""
        return self.with_slow.others_recorded / self.without.others_recorded


async def run_slow(
    followers: int, hosts: int, delay: float, rounds: int, postgres: str | None = None
) -> SlowScenario:
    sinks = Sinks(hosts, slow=1, delay=delay)
    try:
        inboxes = sinks.inboxes(followers)
        slow = frozenset({f"127.0.0.1:{sinks.ports[0]}"})
        others = [i for i in inboxes if urlsplit(i).netloc not in slow]
        without, with_slow = [], []
        for n in range(rounds):  # which goes first alternates: neither gains from the order
            if n % 2:
                with_slow.append(await fresh_node(inboxes, postgres, slow))
            without.append(await fresh_node(others, postgres))
            if not n % 2:
                with_slow.append(await fresh_node(inboxes, postgres, slow))
    finally:
        sinks.close()
    database = "postgresql" if postgres else "sqlite"
    return SlowScenario(
        followers,
        hosts,
        delay,
        _median(without, "others"),
        _median(with_slow, "others"),
        database,
    )


def _median(timings: list[Timing], by: str = "wall") -> Timing:
    ordered = sorted(timings, key=lambda t: getattr(t, by))
    return ordered[len(ordered) // 2]


def report(scenarios: list[Scenario], slows: list[SlowScenario]) -> list[Row]:
    print(
        "| fan-out | database | sign only (s) | ceiling (s) | node (s) | node deliveries/s "
        "| node CPU s | share of ceiling |"
    )
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for s in scenarios:
        name = NAMES[s.database]
        print(
            f"| {s.followers:,} inboxes on {s.hosts} hosts | {name} | {s.sign:.2f} "
            f"| {s.ceiling.wall:.2f} | {s.node.wall:.2f} | {s.followers / s.node.wall:,.0f} "
            f"| {s.node.cpu:.2f} | {s.share:.0%} |"
        )
        rows.append(
            Row(
                benchmark=f"fan-out, {s.followers:,} inboxes on {s.hosts} hosts ({name})",
                measure="deliveries/s (signed, sent, recorded)",
                value=f"{s.followers / s.node.wall:,.0f}/s ({s.node.wall:.2f} s)",
                baseline=f"{s.followers / s.ceiling.wall:,.0f}/s sign+POST, no database",
                ratio=f"{s.share:.0%}",
                goal=f"≥ {GOAL_SHARE:.0%} of ceiling",
                met=s.share >= GOAL_SHARE,
            )
        )
    for slow in slows:
        name = NAMES[slow.database]
        w, wo = slow.with_slow, slow.without
        print(
            f"\n{name}: one of {slow.hosts} hosts {1000 * slow.delay:.0f} ms away: the other "
            f"hosts' {slow.followers - slow.followers // slow.hosts:,} deliveries were answered in "
            f"{w.others:.2f} s, against {wo.others:.2f} s when that host is not followed "
            f"({slow.ratio:.2f}×); answered and recorded {w.others_recorded:.2f} s against "
            f"{wo.others_recorded:.2f} s ({slow.recorded_ratio:.2f}×); all {slow.followers:,} "
            f"answered and recorded in {w.wall:.2f} s"
        )
        rows.append(
            Row(
                benchmark=(
                    f"fan-out, one of {slow.hosts} hosts {1000 * slow.delay:.0f} ms away ({name})"
                ),
                measure="seconds until every delivery to the other hosts is answered, both runs",
                value=f"{w.others:.2f} s (answered and recorded: {w.others_recorded:.2f} s)",
                baseline=(
                    f"{wo.others:.2f} s without that host (answered and recorded: "
                    f"{wo.others_recorded:.2f} s)"
                ),
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


async def run(args: argparse.Namespace, databases: dict[str, str | None]) -> list[Row]:
    """Every scenario on each database (``databases`` maps a name to its server, or None)."""
    settle_heap()  # the garbage collector set up as in ``serve`` and ``worker``
    body = orjson.dumps({"type": "Create", "id": "https://x.example/a", "object": CALL})
    scenarios, slows = [], []
    for database, postgres in databases.items():
        for followers, hosts in parse_scenarios(args.scenarios):
            print(
                f"fan-out to {followers:,} inboxes on {hosts} hosts ({NAMES[database]}), "
                f"{args.rounds} rounds...",
                flush=True,
            )
            scenarios.append(await run_scenario(followers, hosts, args.rounds, body, postgres))
        if args.slow_delay > 0:
            print(
                f"fan-out with one receiver {1000 * args.slow_delay:.0f} ms away "
                f"({NAMES[database]})...",
                flush=True,
            )
            slows.append(await run_slow(1000, 50, args.slow_delay, args.rounds, postgres))
    return report(scenarios, slows)


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
    parser.add_argument(
        "--database", choices=["sqlite", "postgresql", "both"], default="both", help="which node"
    )
    parser.add_argument(
        "--postgres-url", help=f"PostgreSQL server for scratch databases (or ${ENV_POSTGRES})"
    )
    args = parser.parse_args()
    try:
        parse_scenarios(args.scenarios)
    except ValueError:
        parser.error(f"--scenarios must look like 1000x50,10000x200, got {args.scenarios!r}")
    if args.rounds < 1 or args.slow_delay < 0:
        parser.error("--rounds must be positive and --slow-delay not negative")
    postgres = args.postgres_url or os.environ.get(ENV_POSTGRES)
    databases: dict[str, str | None] = {}
    if args.database in {"sqlite", "both"}:
        databases["sqlite"] = None
    if args.database in {"postgresql", "both"}:
        if postgres:
            databases["postgresql"] = postgres
        elif args.database == "postgresql":
            parser.error(f"--database postgresql needs --postgres-url or {ENV_POSTGRES}")
        else:
            print(f"note: PostgreSQL skipped: no server URL (--postgres-url or {ENV_POSTGRES})")
    os.environ.setdefault("CHAPTERHOUSE_LOG_LEVEL", "WARNING")
    record(_event_loop_runner()(run(args, databases)))


def _event_loop_runner() -> Callable[[Coroutine[Any, Any, list[Row]]], list[Row]]:
    """The event loop ``serve`` and ``worker`` would use (setting ``event_loop``, from
    ``CHAPTERHOUSE_EVENT_LOOP`` here), for the node and the ceiling alike."""
    if os.environ.get("CHAPTERHOUSE_EVENT_LOOP", "asyncio") == "uvloop":
        import uvloop

        return uvloop.run
    return asyncio.run


if __name__ == "__main__":
    main()
