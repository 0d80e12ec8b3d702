"""Inbox benchmark (issue 17): signed mixed traffic, counted once accepted AND handled.

One real node (default ``chapterhouse serve``: HTTP and its workers in one process, pinned to
CPU 0 with ``taskset``) takes a flood from ``wrk`` (pinned to CPU 1) over 64 keep-alive
connections: 80% ``Create{Note}``, 10% ``Create{Event}`` with FEP-8b32 proofs, 5% ``Join`` of
the node's calls, 5% impact reports with proofs (``bench/inbox_traffic.py`` says what each is
and why the node wants it). After the flood the node's ``/metrics`` is polled until
``chapterhouse_inbox_backlog`` is 0; the figure is

    activities handled (chapterhouse_inbox_handled_total) / (first request → backlog drained)

Then the node is stopped and its database checked: every item of the flood handled and none
failed, and their effects there (calls stored, participants, reports stored and counted toward
the campaign). A round with failed items, missing effects or a backlog left is an error.

The ceiling, measured in the same run with the same requests and the same wrk settings, is a
bare aiohttp handler (``bench.bare_inbox``, with the node's runtime tuning) that only checks the
digest and the RSA signature and parses the body. Goals: SQLite at least 50% of the ceiling,
PostgreSQL at least 80%, p99 of the HTTP answers under 100 ms, no errors, backlog drained.
Ceiling and node runs are interleaved in rounds (a fresh copy of the node each round) and
medians reported, so a burst of other work on a shared machine skews one round, not the
result; each round also prints the CPU time per request, which such bursts disturb less.

Setup (``bench/inbox_setup.py``): the node is made once per database with the CLI (a chapter,
a campaign with its call, the chapter's calls for the Joins), the remote chapters join the
campaign and announce the calls they report on through its inbox, and rounds copy it. Every
request is signed once, up front, and wrk's Lua script hands each out once (a repeat would be
a cheap duplicate). The node's inbox rate limits are raised in its config file (the limiter
still runs on every request).

    python -m bench.inbox [--seconds 10] [--connections 64] [--database sqlite|postgresql|both]
                          [--rounds 5] [--postgres-url URL] [--requests N] [--keep]
                          [--profile DIR] [--drain-timeout S]

PostgreSQL: ``--postgres-url`` or ``CHAPTERHOUSE_BENCH_DATABASE_URL`` (for instance
``postgresql+asyncpg://chapterhouse@127.0.0.1:5433/postgres``) names a server where the
benchmark may create (and afterwards drop) databases of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bench.inbox_outcome import MIX_TEXT, NodeRun, Outcome, Round, describe, row, table
from bench.inbox_setup import (
    RATE_LIMITS,
    Template,
    check_database,
    copy_node,
    create_node,
    discard_node,
    join_remote_side,
    node_env,
    start_node,
    wait_drained,
    warm_up_requests,
)
from bench.inbox_traffic import (
    CHAPTERS,
    PEOPLE,
    RemoteServer,
    Sender,
    World,
    calls_needed,
    kind_counts,
    make_remotes,
    presign,
)
from bench.inbox_wrk import (
    LUA,
    SERVER_CPU,
    WRK,
    WRK_CPU,
    WrkResult,
    cpu_seconds,
    profile_summary,
    run_wrk,
    start_pinned,
    start_profiler,
    stop,
    stop_profiler,
)
from bench.results import record
from bench.rig import create_database, drop_database
from node.ops.cluster import free_port

__all__ = ["WRK", "main"]

#: Requests are pre-signed for this rate (a little above the ceiling measured on these machines)
#: times the run's length times 1.5, unless --requests says otherwise.
RATE_ESTIMATE = 8000
#: Signatures are dated when made; the node takes them for an hour (signature_window_seconds).
RESIGN_AFTER = 45 * 60
ENV_POSTGRES = "CHAPTERHOUSE_BENCH_DATABASE_URL"
#: A backlog seen at 0 counts as drained once it stays so this long with nothing accepted.
SETTLE_SECONDS = 1.0


@dataclass(frozen=True)
class Plan:
    port: int
    seconds: int
    connections: int
    requests_file: Path
    lua: Path
    keys_file: Path  # the ceiling's key ids → public PEMs
    work: Path
    uvloop: bool
    world: World
    sender: Sender
    drain_timeout: float
    keep: bool
    profile: Path | None = None


async def measure_ceiling(plan: Plan, name: str) -> WrkResult:
    argv = [sys.executable, "-m", "bench.bare_inbox", "--port", str(plan.port)]
    argv += ["--base-url", plan.world.node, "--keys", str(plan.keys_file)]
    argv += ["--uvloop"] if plan.uvloop else []
    proc = await start_pinned(argv, dict(os.environ), "ready", plan.work / "ceiling.log")
    try:
        spy = await start_profiler(plan.profile, proc.pid, f"ceiling-{name}")
        result = await run_wrk(
            plan.world.inbox, plan.requests_file, plan.lua, plan.seconds, plan.connections, proc.pid
        )
        await stop_profiler(spy)
        return result
    finally:
        await stop(proc)


async def measure_node(plan: Plan, node: Template, name: str) -> NodeRun:
    log = plan.work / f"{name}.log"
    proc = await start_node(node.data, plan.port, node_env(node.database_url), log, SERVER_CPU)
    try:
        async with aiohttp.ClientSession() as session:
            await plan.sender.post_all(session, warm_up_requests(plan.world, plan.sender))
            before = await wait_drained(session, plan.world.node, timeout=120, settle=0.5)
            spy = await start_profiler(plan.profile, proc.pid, name)
            cpu_before, started = cpu_seconds(proc.pid), time.monotonic()
            flood = await run_wrk(
                plan.world.inbox,
                plan.requests_file,
                plan.lua,
                plan.seconds,
                plan.connections,
                proc.pid,
            )
            after_flood = await wait_drained(session, plan.world.node, timeout=0)
            drained = await wait_drained(
                session, plan.world.node, timeout=plan.drain_timeout, settle=SETTLE_SECONDS
            )
            cpu = cpu_seconds(proc.pid) - cpu_before
            await stop_profiler(spy)
    finally:
        await stop(proc)
    check = await check_database(node.url, plan.world.run)
    return NodeRun(
        flood,
        drained.handled - before.handled,
        drained.at - started,
        after_flood.backlog,
        drained.backlog,
        cpu,
        drained.deliveries,
        check,
    )


async def measure_round(plan: Plan, template: Template, postgres: str | None, n: int) -> Round:
    """The ceiling, then a fresh copy of the node on the same requests."""
    load = os.getloadavg()[0]
    ceiling = await measure_ceiling(plan, f"{n + 1}")
    describe(f"round {n + 1}: ceiling (bare aiohttp), load {load:.2f}", ceiling)
    name = f"node-{'postgresql' if template.database_url else 'sqlite'}-{n + 1}"
    node = await copy_node(template, plan.work, postgres, name)
    try:
        run = await measure_node(plan, node, name)
    finally:
        await discard_node(node, postgres, plan.keep)
    describe(f"round {n + 1}: node, HTTP answers during the flood", run.wrk)
    print(
        f"  round {n + 1}: node, end to end: {run.handled:,} handled in {run.seconds:.1f} s = "
        f"{run.rate:,.0f}/s ({run.backlog_after_flood:,} waiting when the flood stopped, "
        + (
            "drained"
            if not run.backlog_left
            else f"NOT DRAINED: {run.backlog_left:,} left after the time-out"
        )
        + f"); node CPU {run.cpu_us_per_activity:.0f} µs/activity; deliveries then: "
        + (", ".join(f"{k} {v:,}" for k, v in sorted(run.deliveries.items())) or "none")
        + f"; load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    print(f"  {run.check.line()}", flush=True)
    if plan.profile is not None:
        for line in profile_summary(plan.profile / f"{name}.txt"):
            print(f"  profile: {line}", flush=True)
    if run.wrk.overrun or ceiling.overrun:
        print("  warning: pre-signed requests ran out; rerun with a larger --requests")
    return Round(run, ceiling)


@dataclass(frozen=True)
class Bench:
    """What every database's measurement shares."""

    work: Path
    count: int  # requests per flood
    world: World  # without the node's own ids yet (each database's node makes its own)
    port: int
    lua: Path
    keys: Path
    uvloop: bool


async def measure_database(
    args: argparse.Namespace,
    database: str,
    postgres: str | None,
    server: RemoteServer,
    bench: Bench,
) -> Outcome:
    """Set the node up, sign the flood for it, then the rounds."""
    work, count, world = bench.work, bench.count, bench.world
    joins, seeds = calls_needed(count, len(world.people), len(world.chapters))
    url = await create_database(postgres, "bench_inbox_tpl_") if postgres else None
    try:
        started = time.perf_counter()
        directory = work / database
        directory.mkdir()
        template = await create_node(directory, world.node, url, joins, world.now)
        world = dataclasses.replace(
            world, campaign_call=template.campaign_call, join_calls=template.join_calls, seeds=seeds
        )
        sender = Sender(world)
        server.sender = sender
        took = time.perf_counter() - started
        await join_remote_side(template, world, sender, bench.port, directory / "setup.log")
        print(
            f"  node set up in {time.perf_counter() - started:.0f} s (CLI {took:.0f} s: "
            f"{joins} calls for the Joins; remote side: "
            + ", ".join(f"{k} {v:.0f} s" for k, v in template.timings.items())
            + f"; {seeds * len(world.chapters):,} calls held for the reports)",
            flush=True,
        )
        requests_file = work / f"requests-{database}.bin"
        took = presign(requests_file, world, count)
        print(f"  pre-signed {count:,} unique activities in {took:.1f} s", flush=True)
        plan = Plan(
            bench.port,
            args.seconds,
            args.connections,
            requests_file,
            bench.lua,
            bench.keys,
            directory,
            bench.uvloop,
            world,
            sender,
            args.drain_timeout,
            args.keep,
            args.profile,
        )
        signed_at, rounds = time.monotonic(), []
        for n in range(args.rounds):
            if time.monotonic() - signed_at > RESIGN_AFTER:  # the node's Date window nears
                took = presign(requests_file, world, count)
                signed_at = time.monotonic()
                print(f"  signed again ({took:.1f} s): the first signatures near the window")
            rounds.append(await measure_round(plan, template, postgres, n))
    finally:
        if url and postgres:
            await drop_database(postgres, url)
    outcome = Outcome(database, rounds)
    if len(rounds) > 1:
        print(
            f"  median of {len(rounds)} rounds: {outcome.node.rate:,.0f}/s handled against "
            f"{outcome.ceiling_rate:,.0f}/s = {outcome.ratio:.0%} (by CPU time: "
            f"{outcome.cpu_ratio:.0%})",
            flush=True,
        )
    return outcome


async def run(args: argparse.Namespace) -> int:
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    postgres = args.postgres_url or os.environ.get(ENV_POSTGRES)
    if "postgresql" in databases and not postgres:
        print(
            f"note: PostgreSQL skipped: no server URL (--postgres-url or {ENV_POSTGRES}, "
            "e.g. postgresql+asyncpg://chapterhouse@127.0.0.1:5433/postgres)"
        )
        databases.remove("postgresql")
    if not databases:
        return 2
    # The node's event loop follows its setting (CHAPTERHOUSE_EVENT_LOOP); the ceiling's, the node's.
    use_uvloop = os.environ.get("CHAPTERHOUSE_EVENT_LOOP", "asyncio") == "uvloop"
    work = Path(tempfile.mkdtemp(prefix="bench-inbox-"))
    port, remote_port = free_port(), free_port()
    count = args.requests or math.ceil(RATE_ESTIMATE * args.seconds * 1.5)
    print(
        f"inbox benchmark, end to end: {args.seconds} s floods, {args.connections} connections, "
        f"{len(databases)} database(s); server on CPU {SERVER_CPU}, wrk on CPU {WRK_CPU}; "
        f"load {os.getloadavg()[0]:.2f}"
        + ("; event loop: uvloop (node and ceiling)" if use_uvloop else ""),
        flush=True,
    )
    print(
        f"  traffic: {MIX_TEXT} ("
        + ", ".join(f"{n:,} {k}s" for k, n in kind_counts(count).items())
        + f" pre-signed) from {PEOPLE} people and {CHAPTERS} chapters on one remote server",
        flush=True,
    )
    print(
        "  node config: inbox rate limits raised to "
        + ", ".join(f"{k} = {v:g}" for k, v in RATE_LIMITS.items())
        + " (the limiters still run per request)",
        flush=True,
    )
    origin = f"http://127.0.0.1:{remote_port}"
    remotes = make_remotes(origin, PEOPLE, CHAPTERS)
    node = f"http://127.0.0.1:{port}"
    world = World(
        origin=origin,
        node=node,
        people=tuple(r for r in remotes if r.kind == "Person"),
        chapters=tuple(r for r in remotes if r.kind == "Group"),
        local_chapter=f"{node}/actors/greenpark",
        campaign=f"{node}/actors/climate",
        campaign_call="",
        join_calls=(),
        seeds=0,
        run=uuid.uuid4().hex[:8],
        now=datetime.now(UTC).replace(microsecond=0),
    )
    keys = work / "keys.json"
    keys.write_text(json.dumps({r.key_id: r.public_pem for r in remotes}))
    lua = work / "inbox.lua"
    lua.write_text(LUA)
    bench = Bench(work, count, world, port, lua, keys, use_uvloop)
    server = RemoteServer(remotes, remote_port)
    await server.start()
    outcomes: list[Outcome] = []
    try:
        for database in databases:
            print(f"{database}:", flush=True)
            pg = postgres if database == "postgresql" else None
            outcomes.append(await measure_database(args, database, pg, server, bench))
    finally:
        await server.stop()
        if args.keep:
            print(f"work files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"  the remote server received: {server.received}")
    print()
    print(table(outcomes))
    record([row(o) for o in outcomes])
    return 0 if all(o.goal_met for o in outcomes) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.inbox",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=int, default=10, help="length of each flood")
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections")
    parser.add_argument(
        "--database", choices=["sqlite", "postgresql", "both"], default="both", help="which node"
    )
    parser.add_argument(
        "--postgres-url", help=f"PostgreSQL server for scratch databases (or ${ENV_POSTGRES})"
    )
    parser.add_argument(
        "--requests",
        type=int,
        help=f"how many requests to pre-sign (default {RATE_ESTIMATE}/s × seconds × 1.5)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="ceiling/node pairs per database, interleaved; medians are reported (default 5: "
        "a shared host makes single rounds swing by ±10 points)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=300.0,
        help="seconds to wait after the flood for the backlog to drain (default 300)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample the servers with py-spy during each run (collapsed stacks in DIR, and a "
        "summary of where the node's time goes; skews figures)",
    )
    args = parser.parse_args(argv)
    if not Path(WRK).exists():
        print(f"{WRK} not found: install it with `apt-get install wrk`", file=sys.stderr)
        return 2
    if shutil.which("taskset") is None:
        print("taskset not found: install it with `apt-get install util-linux`", file=sys.stderr)
        return 2
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
