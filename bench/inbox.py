"""Inbox benchmark (issue 8): signed, unique ``Create`` activities accepted per second.

One real node process (``chapterhouse serve --data DIR --workers 0``: HTTP only, pinned to CPU 0
with ``taskset``) takes a flood of pre-signed ``Create`` activities from ``wrk`` (pinned to
CPU 1) over 64 keep-alive connections. With ``--workers 0`` the node authenticates each
activity, de-duplicates it by id and persists it through the group-commit writer, then answers
``202``; handling the stored items is the job of a separate ``chapterhouse worker`` process,
which is not run here (it would compete for the same core).

The ceiling, measured in the same run with the same requests and the same wrk settings, is a
bare aiohttp handler (``bench.bare_inbox``) that only checks the digest and the RSA signature
and parses the body. Goal on SQLite: at least 80% of the ceiling, p99 under 100 ms, no errors.
PostgreSQL is measured too when a server URL is given, and reported. Ceiling and node runs are
interleaved in rounds (a fresh node each round) and medians reported, so a burst of other work on
a shared machine skews one round, not the result; each run also prints the server's CPU time per
request, which such bursts disturb less than throughput.

Setup: a node is initialised in a temporary directory with the CLI (``chapterhouse init``,
``chapterhouse chapter create``); its inbox rate limits are raised in its config file so the
flood is not throttled (the limiter still runs on every request). Eight remote senders publish
their actor documents and RSA keys from a small key server in this process; the node fetches
each key once and caches it (a few warm-up requests do that before timing). Every request is
signed once, up front, in a process pool (draft-cavage RSA-SHA256 over ``(request-target) host
date digest``) and handed out by wrk's Lua script exactly once: duplicates would be cheap
no-ops. After each run the stored inbox items are counted: every ``2xx`` answer must be there.

    python -m bench.inbox [--seconds 10] [--connections 64] [--database sqlite|postgresql|both]
                          [--rounds 5] [--postgres-url URL] [--requests N] [--keep] [--profile DIR]

PostgreSQL: ``--postgres-url`` or ``CHAPTERHOUSE_BENCH_DATABASE_URL`` (for instance
``postgresql+asyncpg://chapterhouse@127.0.0.1:5433/postgres``) names a server where the
benchmark may create (and afterwards drop) a database of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import multiprocessing
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import orjson
from aiohttp import web
from sqlalchemy import func, select

from bench.results import Row, record
from bench.rig import create_database, drop_database
from node.ops.cluster import free_port
from protocol.httpsig import HttpRequest, sign_request_cavage
from protocol.keys import (
    generate_rsa_key,
    private_key_from_pem,
    private_key_to_pem,
    public_key_to_pem,
)
from storage.engine import open_database
from storage.models import InboxItem

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WRK = "/usr/bin/wrk"
SERVER_CPU = "0"
WRK_CPU = "1"
SENDERS = 8
CHAPTER = "greenpark"
#: Requests are pre-signed for this rate (a little above the ceiling measured on these machines)
#: times the run's length times 1.5, unless --requests says otherwise.
RATE_ESTIMATE = 8000
#: Raised for the benchmark (config file): every sender floods from one domain, one key each,
#: and wrk from one address.
RATE_LIMITS = {
    "inbox_rate_per_domain": 1_000_000.0,
    "inbox_burst_per_domain": 1_000_000,
    "inbox_rate_per_key": 1_000_000.0,
    "inbox_burst_per_key": 1_000_000,
    "inbox_rate_per_ip": 1_000_000.0,
    "inbox_burst_per_ip": 1_000_000,
}
GOAL_RATIO = 0.80
GOAL_P99_MS = 100.0
ENV_POSTGRES = "CHAPTERHOUSE_BENCH_DATABASE_URL"

LUA = r"""
-- Hands out each pre-signed request once (never a repeat), counts non-2xx answers and
-- prints one parseable line at the end. Records: "<length>\n<raw HTTP request>".
local requests = {}
local count = 0
local position = 1
non2xx = 0
sent = 0
overrun = 0
first_bad = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(args[2])
  local file = assert(io.open(args[1], "rb"))
  local index = 0
  while true do
    local line = file:read("*l")
    if not line then break end
    local raw = file:read(tonumber(line))
    if index % nthreads == tid then
      count = count + 1
      requests[count] = raw
    end
    index = index + 1
  end
  file:close()
end

function request()
  if position > count then
    overrun = overrun + 1
    return requests[count]
  end
  local raw = requests[position]
  requests[position] = nil
  position = position + 1
  sent = sent + 1
  return raw
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == 0 then first_bad = status end
  end
end

function done(summary, latency, requests)
  local bad, total_sent, over, first = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
    total_sent = total_sent + thread:get("sent")
    over = over + thread:get("overrun")
    if first == 0 then first = thread:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d non2xx=%d sent=%d overrun=%d first_bad=%d connect=%d read=%d " ..
    "write=%d status=%d timeout=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, bad, total_sent, over, first, e.connect, e.read, e.write, e.status,
    e.timeout, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class WrkResult:
    requests: int  # responses received
    non2xx: int
    sent: int
    overrun: int
    first_bad: int
    socket_errors: int  # connect + read + write + timeout
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    cpu_seconds: float = 0.0  # the server's CPU time during the run (robust to a busy machine)

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / max(1, self.requests) * 1e6

    @property
    def accepted(self) -> int:
        return self.requests - self.non2xx

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds

    @property
    def errors(self) -> int:
        return self.non2xx + self.socket_errors + self.overrun


def parse_wrk(output: str) -> WrkResult:
    match = re.search(r"^BENCH (.*)$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no result line:\n{output}")
    v = {k: int(x) for k, x in (pair.split("=") for pair in match.group(1).split())}
    return WrkResult(
        requests=v["requests"],
        non2xx=v["non2xx"],
        sent=v["sent"],
        overrun=v["overrun"],
        first_bad=v["first_bad"],
        socket_errors=v["connect"] + v["read"] + v["write"] + v["timeout"],
        seconds=v["duration_us"] / 1e6,
        p50_ms=v["p50_us"] / 1000,
        p90_ms=v["p90_us"] / 1000,
        p99_ms=v["p99_us"] / 1000,
        max_ms=v["max_us"] / 1000,
    )


# ------------------------------------------------------------------ senders and signing


@dataclass(frozen=True)
class Sender:
    actor_id: str
    key_id: str
    private_pem: str
    public_pem: str


def make_senders(key_origin: str, count: int) -> list[Sender]:
    senders = []
    for i in range(count):
        key = generate_rsa_key()
        actor_id = f"{key_origin}/users/sender{i}"
        senders.append(
            Sender(
                actor_id,
                f"{actor_id}#main-key",
                private_key_to_pem(key),
                public_key_to_pem(key.public_key()),
            )
        )
    return senders


def actor_document(sender: Sender, key_origin: str) -> dict[str, object]:
    name = sender.actor_id.rsplit("/", 1)[1]
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": sender.actor_id,
        "type": "Person",
        "preferredUsername": name,
        "inbox": f"{sender.actor_id}/inbox",
        "outbox": f"{sender.actor_id}/outbox",
        "endpoints": {"sharedInbox": f"{key_origin}/inbox"},
        "publicKey": {
            "id": sender.key_id,
            "owner": sender.actor_id,
            "publicKeyPem": sender.public_pem,
        },
    }


async def start_key_server(senders: list[Sender], port: int) -> web.AppRunner:
    origin = f"http://127.0.0.1:{port}"
    documents = {s.actor_id.removeprefix(origin): actor_document(s, origin) for s in senders}
    fetches: list[str] = []

    async def actor(request: web.Request) -> web.Response:
        doc = documents.get(request.path)
        if doc is None:
            raise web.HTTPNotFound()
        fetches.append(request.path)
        return web.Response(body=orjson.dumps(doc), content_type="application/activity+json")

    app = web.Application()
    app.router.add_get("/users/{name}", actor)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


_SIGNING: dict[str, object] = {}


def _init_signer(senders: list[Sender], inbox_url: str, chapter_id: str, run: str) -> None:
    _SIGNING.update(
        keys=[private_key_from_pem(s.private_pem) for s in senders],
        senders=senders,
        inbox_url=inbox_url,
        chapter_id=chapter_id,
        run=run,
    )


def create_activity(sender: Sender, chapter_id: str, run: str, n: int) -> bytes:
    activity_id = f"{sender.actor_id}/activities/{run}-{n}"
    note_id = f"{sender.actor_id}/notes/{run}-{n}"
    return orjson.dumps(
        {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": activity_id,
            "type": "Create",
            "actor": sender.actor_id,
            "published": "2027-04-12T10:00:00Z",
            "to": [chapter_id],
            "object": {
                "id": note_id,
                "type": "Note",
                "attributedTo": sender.actor_id,
                "to": [chapter_id],
                "published": "2027-04-12T10:00:00Z",
                "content": f"<p>Count me in for the clean-up, crew! (message {n})</p>",
            },
        }
    )


def signed_request(n: int) -> tuple[str, list[tuple[str, str]], bytes]:
    senders: list[Sender] = _SIGNING["senders"]  # type: ignore[assignment]
    keys = _SIGNING["keys"]
    sender = senders[n % len(senders)]
    body = create_activity(sender, str(_SIGNING["chapter_id"]), str(_SIGNING["run"]), n)
    url = str(_SIGNING["inbox_url"])
    request = HttpRequest.from_mapping(
        "POST", url, [("Content-Type", "application/activity+json")], body
    )
    signed = sign_request_cavage(
        request,
        key_id=sender.key_id,
        private_key=keys[n % len(senders)],  # type: ignore[index]
        now=datetime.now(UTC),
    )
    return url, list(signed.headers), body


def _raw_chunk(bounds: tuple[int, int]) -> bytes:
    out = []
    for n in range(*bounds):
        url, headers, body = signed_request(n)
        path = "/" + url.split("/", 3)[3]
        head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        raw = head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        out.append(b"%d\n%s" % (len(raw), raw))
    return b"".join(out)


def presign(
    path: Path, senders: list[Sender], inbox_url: str, chapter_id: str, run: str, count: int
) -> float:
    """Write ``count`` signed requests (numbered from 1000, below that for warm-up) to ``path``."""
    started = time.perf_counter()
    step = 2000
    chunks = [(n, min(n + step, 1000 + count)) for n in range(1000, 1000 + count, step)]
    with (
        multiprocessing.get_context("fork").Pool(
            os.cpu_count() or 2,
            initializer=_init_signer,
            initargs=(senders, inbox_url, chapter_id, run),
        ) as pool,
        path.open("wb") as out,
    ):
        for data in pool.imap(_raw_chunk, chunks):
            out.write(data)
    return time.perf_counter() - started


# ------------------------------------------------------------------------- processes


def run_cli(args: Sequence[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(BIN / "chapterhouse"), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"chapterhouse {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


async def start_pinned(
    argv: list[str], env: dict[str, str], ready: str, log: Path
) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        "taskset",
        "-c",
        SERVER_CPU,
        *argv,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=log.open("ab"),
    )
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(60):
            while True:
                line = (await proc.stdout.readline()).decode()
                if not line:
                    raise RuntimeError(f"{argv[0]} exited before it was ready; see {log}")
                if line.startswith(ready):
                    break
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    return proc


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(30):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def run_wrk(
    url: str,
    requests_file: Path,
    lua: Path,
    seconds: int,
    connections: int,
    threads: int,
    server_pid: int,
) -> WrkResult:
    cpu_before = cpu_seconds(server_pid)
    proc = await asyncio.create_subprocess_exec(
        "taskset",
        "-c",
        WRK_CPU,
        WRK,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(lua),
        url,
        "--",
        str(requests_file),
        str(threads),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    cpu = cpu_seconds(server_pid) - cpu_before
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{text}")
    return dataclasses.replace(parse_wrk(text), cpu_seconds=cpu)


async def warm_up(url: str, requests: list[tuple[str, list[tuple[str, str]], bytes]]) -> None:
    """Send each warm-up request once (fetching and caching every sender's key)."""
    async with aiohttp.ClientSession() as session:
        for _, headers, body in requests:
            hdrs = [(k, v) for k, v in headers if k.lower() != "host"]
            async with session.post(url, data=body, headers=hdrs) as resp:
                if resp.status != 202:
                    raise RuntimeError(
                        f"warm-up request answered {resp.status}: {await resp.text()}"
                    )


# ------------------------------------------------------------------------- databases


async def stored_items(database_url: str) -> int:
    db = open_database(database_url)
    try:
        async with db.read() as session:
            return int(await session.scalar(select(func.count()).select_from(InboxItem)) or 0)
    finally:
        await db.dispose()


# ----------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class Round:
    """One ceiling run and, right after it, one run of a fresh node on the same requests."""

    node: WrkResult
    ceiling: WrkResult
    stored: int
    warm: int

    @property
    def lost(self) -> int:
        """Answered 2xx but not stored (must be 0); stored beyond that were in flight at cut-off."""
        return max(0, self.node.accepted + self.warm - self.stored)


@dataclass(frozen=True)
class Outcome:
    """A database's rounds, summarised by medians (the machine may be shared and noisy)."""

    database: str
    rounds: list[Round]

    @property
    def node(self) -> WrkResult:
        """The round with the median node rate (its latencies are the ones reported)."""
        ordered = sorted(self.rounds, key=lambda r: r.node.rate)
        return ordered[(len(ordered) - 1) // 2].node

    @property
    def ceiling_rate(self) -> float:
        return statistics.median(r.ceiling.rate for r in self.rounds)

    @property
    def ratio(self) -> float:
        return self.node.rate / self.ceiling_rate

    @property
    def cpu_ratio(self) -> float:
        """Ceiling CPU per request against the node's (medians): what the rate ratio would be
        with the core to itself, little moved by other work on a shared machine."""
        node = statistics.median(r.node.cpu_us_per_request for r in self.rounds)
        ceiling = statistics.median(r.ceiling.cpu_us_per_request for r in self.rounds)
        return ceiling / node if node else 0.0

    @property
    def errors(self) -> int:
        return sum(r.node.errors for r in self.rounds)

    @property
    def lost(self) -> int:
        return sum(r.lost for r in self.rounds)

    @property
    def goal_met(self) -> bool:
        return (
            self.ratio >= GOAL_RATIO
            and self.node.p99_ms < GOAL_P99_MS
            and self.errors == 0
            and self.lost == 0
        )


@dataclass(frozen=True)
class Plan:
    port: int
    key_port: int
    seconds: int
    connections: int
    threads: int
    requests_file: Path
    lua: Path
    senders: list[Sender]
    warm: list[tuple[str, list[tuple[str, str]], bytes]]
    work: Path
    uvloop: bool
    profile: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def inbox_url(self) -> str:
        return f"{self.base_url}/actors/{CHAPTER}/inbox"


async def measure_ceiling(plan: Plan) -> WrkResult:
    keys = plan.work / "keys.json"
    keys.write_text(json.dumps({s.key_id: s.public_pem for s in plan.senders}))
    argv = [
        sys.executable,
        "-m",
        "bench.bare_inbox",
        "--port",
        str(plan.port),
        "--base-url",
        plan.base_url,
        "--keys",
        str(keys),
    ] + (["--uvloop"] if plan.uvloop else [])
    proc = await start_pinned(argv, dict(os.environ), "ready", plan.work / "ceiling.log")
    try:
        spy = await start_profiler(plan, proc.pid, "ceiling")
        result = await run_wrk(
            plan.inbox_url,
            plan.requests_file,
            plan.lua,
            plan.seconds,
            plan.connections,
            plan.threads,
            proc.pid,
        )
        if spy is not None:
            await spy.wait()
        return result
    finally:
        await stop(proc)


async def measure_node(
    plan: Plan, database: str, database_url: str | None
) -> tuple[WrkResult, int]:
    data = plan.work / f"node-{database}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAPTERHOUSE_")}
    if database_url:
        env["CHAPTERHOUSE_DATABASE_URL"] = database_url
    run_cli(
        ["init", "--data", str(data), "--base-url", plan.base_url, "--allow-private-network"], env
    )
    with (data / "chapterhouse.toml").open("a") as config:
        config.write("# raised by bench.inbox: the benchmark floods from one domain\n")
        for key, value in RATE_LIMITS.items():
            config.write(f"{key} = {value}\n")
    run_cli(["chapter", "create", CHAPTER, "--data", str(data)], env)
    argv = [str(BIN / "chapterhouse"), "serve", "--data", str(data), "--workers", "0"]
    argv += ["--port", str(plan.port)]
    proc = await start_pinned(argv, env, "serving", plan.work / f"node-{database}.log")
    try:
        await warm_up(plan.inbox_url, plan.warm)
        spy = await start_profiler(plan, proc.pid, database)
        result = await run_wrk(
            plan.inbox_url,
            plan.requests_file,
            plan.lua,
            plan.seconds,
            plan.connections,
            plan.threads,
            proc.pid,
        )
        await asyncio.sleep(0.5)  # requests in flight at the cut-off finish
        if spy is not None:
            await spy.wait()
    finally:
        await stop(proc)
    url = database_url or f"sqlite+aiosqlite:///{data / 'chapterhouse.db'}"
    return result, await stored_items(url)


async def start_profiler(plan: Plan, pid: int, database: str) -> asyncio.subprocess.Process | None:
    """With ``--profile DIR``: py-spy samples the server (collapsed stacks) during the timed run."""
    if plan.profile is None:
        return None
    spy = shutil.which("py-spy") or str(BIN / "py-spy")
    plan.profile.mkdir(parents=True, exist_ok=True)
    out = plan.profile / f"{'ceiling' if database == 'ceiling' else 'node-' + database}.txt"
    argv = [spy, "record", "--format", "raw", "-r", "100", "-d", str(plan.seconds)]
    argv += ["-o", str(out), "--pid", str(pid)]
    return await asyncio.create_subprocess_exec(
        "taskset", "-c", WRK_CPU, *argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def measure_round(plan: Plan, database: str, postgres: str | None, n: int) -> Round:
    """The ceiling, then a fresh node (its own data directory and database) on the same requests."""
    ceiling = await measure_ceiling(plan)
    describe(f"round {n + 1}: ceiling (bare aiohttp)", ceiling)
    database_url = (
        await create_database(postgres, "bench_inbox_")
        if database == "postgresql" and postgres
        else None
    )
    try:
        node, stored = await measure_node(plan, f"{database}-{n + 1}", database_url)
    finally:
        if database_url and postgres:
            await drop_database(postgres, database_url)
    describe(f"round {n + 1}: node", node)
    result = Round(node, ceiling, stored, len(plan.warm))
    in_flight = stored - node.accepted - len(plan.warm)
    print(
        f"  stored {stored:,} inbox items = {node.accepted:,} answered 2xx + {len(plan.warm)} "
        f"warm-up + {in_flight} in flight at the cut-off"
        + (f"; LOST {result.lost}" if result.lost else "; nothing lost"),
        flush=True,
    )
    if node.overrun or ceiling.overrun:
        print("  warning: pre-signed requests ran out; rerun with a larger --requests")
    return result


def row(outcome: Outcome) -> Row:
    node = outcome.node
    sqlite = outcome.database == "sqlite"
    name = "SQLite" if sqlite else "PostgreSQL"
    return Row(
        benchmark=f"inbox ({name})",
        measure="signed unique Creates accepted/s, 64 keep-alive connections, 1 core",
        value=(
            f"{node.rate:,.0f}/s (p50 {node.p50_ms:.1f} ms, p99 {node.p99_ms:.1f} ms, "
            f"{outcome.errors} errors; median of {len(outcome.rounds)}; "
            f"CPU per request {outcome.cpu_ratio:.0%} of the ceiling's rate)"
        ),
        baseline=f"{outcome.ceiling_rate:,.0f}/s (bare aiohttp: digest + RSA verify + parse)",
        ratio=f"{outcome.ratio:.0%}",
        goal="≥ 80% of ceiling, p99 < 100 ms, 0 errors" if sqlite else "reported",
        met=outcome.goal_met if sqlite else outcome.lost == 0 and outcome.errors == 0,
    )


def _verdict(o: Outcome) -> str:
    """The goal is SQLite's; PostgreSQL is reported (it must still lose nothing)."""
    if o.database != "sqlite":
        return "reported" if o.lost == 0 and o.errors == 0 else "**no** (errors or losses)"
    return "yes" if o.goal_met else "**no**"


def table(outcomes: list[Outcome]) -> str:
    lines = [
        "| database | accepted/s | ceiling/s | ratio | CPU ratio | p50 | p99 | errors | lost "
        "| goal met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines.extend(
        f"| {o.database} | {o.node.rate:,.0f} | {o.ceiling_rate:,.0f} | {o.ratio:.0%} | "
        f"{o.cpu_ratio:.0%} | "
        f"{o.node.p50_ms:.1f} ms | {o.node.p99_ms:.1f} ms | {o.errors} | {o.lost} | "
        + _verdict(o)
        + " |"
        for o in outcomes
    )
    return "\n".join(lines) + "\n"


def describe(label: str, result: WrkResult) -> None:
    print(
        f"  {label}: {result.rate:,.0f}/s over {result.seconds:.1f} s; {result.accepted:,} 2xx, "
        f"{result.non2xx} non-2xx (first {result.first_bad or '-'}), {result.socket_errors} "
        f"socket errors, {result.overrun} repeats; p50 {result.p50_ms:.1f} ms, "
        f"p90 {result.p90_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, max {result.max_ms:.1f} ms; "
        f"server CPU {result.cpu_us_per_request:.0f} µs/request",
        flush=True,
    )


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
    port, key_port = free_port(), free_port()
    key_origin = f"http://127.0.0.1:{key_port}"
    count = args.requests or math.ceil(RATE_ESTIMATE * args.seconds * 1.5)
    print(
        f"inbox benchmark: {args.seconds} s runs, {args.connections} connections, "
        f"{len(databases)} database(s); server on CPU {SERVER_CPU}, wrk on CPU {WRK_CPU}"
        + ("; event loop: uvloop (node and ceiling)" if use_uvloop else ""),
        flush=True,
    )
    print(
        "  node config: inbox rate limits raised to "
        + ", ".join(f"{k} = {v:g}" for k, v in RATE_LIMITS.items())
        + " (the limiter still runs per request)",
        flush=True,
    )
    senders = make_senders(key_origin, SENDERS)
    chapter_id = f"http://127.0.0.1:{port}/actors/{CHAPTER}"
    inbox_url = f"{chapter_id}/inbox"
    run_id = uuid.uuid4().hex[:8]
    requests_file = work / "requests.bin"
    took = presign(requests_file, senders, inbox_url, chapter_id, run_id, count)
    print(f"  pre-signed {count:,} unique Create activities in {took:.1f} s", flush=True)
    _init_signer(senders, inbox_url, chapter_id, run_id)
    warm = [signed_request(n) for n in range(2 * SENDERS)]
    lua = work / "inbox.lua"
    lua.write_text(LUA)
    plan = Plan(
        port,
        key_port,
        args.seconds,
        args.connections,
        1,
        requests_file,
        lua,
        senders,
        warm,
        work,
        use_uvloop,
        args.profile,
    )
    key_server = await start_key_server(senders, key_port)
    outcomes: list[Outcome] = []
    try:
        for database in databases:
            print(f"{database}:", flush=True)
            rounds = [await measure_round(plan, database, postgres, n) for n in range(args.rounds)]
            outcome = Outcome(database, rounds)
            if len(rounds) > 1:
                print(
                    f"  median of {len(rounds)} rounds: {outcome.node.rate:,.0f}/s against "
                    f"{outcome.ceiling_rate:,.0f}/s = {outcome.ratio:.0%} (by CPU time per "
                    f"request: {outcome.cpu_ratio:.0%})",
                    flush=True,
                )
            outcomes.append(outcome)
    finally:
        await key_server.cleanup()
        if args.keep:
            print(f"work files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(outcomes))
    record([row(o) for o in outcomes])
    return 0 if all(o.goal_met for o in outcomes if o.database == "sqlite") else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.inbox",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=int, default=10, help="length of each timed run")
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections")
    parser.add_argument(
        "--database", choices=["sqlite", "postgresql", "both"], default="both", help="which node"
    )
    parser.add_argument(
        "--postgres-url", help=f"PostgreSQL server for a scratch database (or ${ENV_POSTGRES})"
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
        help="ceiling/node pairs per database, interleaved; medians are reported (default 5: a shared host makes single rounds swing by ±10 points)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample the node with py-spy during each run (collapsed stacks in DIR; skews figures)",
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
