"""The node side of ``bench.inbox``: a node set up once per database, copied for every round,
its ``/metrics`` polled until the backlog is drained, and its database checked afterwards.

The template node is made with the command line, as an operator would: ``init``, a local
chapter with an organiser, a campaign with its own call, and the local chapter's calls that
the flood's ``Join``s go to (``action create``). Then it is served once, and the remote side
joins it through its inbox: every remote chapter follows the campaign (the campaign accepts
and follows back; the remote server accepts that follow, so the campaign now follows the
chapter and the chapter's new calls are wanted here), and every remote chapter announces the
calls that the flood's reports are about (started, adopting the campaign's call, with proofs).
Each round then starts a fresh copy of it: a copied data directory (SQLite) or a database
created from it as a template (PostgreSQL).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from bench.inbox_traffic import KINDS, Sender, Signed, World, event, follow, note
from bench.inbox_wrk import BIN, ROOT, stop
from bench.rig import create_database, drop_database
from storage.engine import open_database
from storage.models import ActionCall, Contribution, Follow, ImpactReport, InboxItem, Participant
from storage.models.follow import ACCEPTED

LOCAL_CHAPTER = "greenpark"
ORGANISER = "olga"
CAMPAIGN = "climate"
CAMPAIGNER = "cora"
#: Raised for the benchmark (config file): every sender floods from one domain, and wrk from
#: one address. The limiters still run on every request.
RATE_LIMITS = {
    "inbox_rate_per_domain": 1_000_000.0,
    "inbox_burst_per_domain": 1_000_000,
    "inbox_rate_per_key": 1_000_000.0,
    "inbox_burst_per_key": 1_000_000,
    "inbox_rate_per_ip": 1_000_000.0,
    "inbox_burst_per_ip": 1_000_000,
    # every remote actor lives on one server: the node fetches each key once, on warm-up
    "key_fetches_per_origin_per_minute": 1_000_000,
}
POLL_SECONDS = 0.2


def node_env(database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAPTERHOUSE_")}
    for key in ("CHAPTERHOUSE_EVENT_LOOP",):  # the runtime choice under test is kept
        if key in os.environ:
            env[key] = os.environ[key]
    if database_url:
        env["CHAPTERHOUSE_DATABASE_URL"] = database_url
    return env


def run_cli(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(BIN / "chapterhouse"), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"chapterhouse {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def sqlite_url(data: Path) -> str:
    return f"sqlite+aiosqlite:///{data / 'chapterhouse.db'}"


@dataclass
class Template:
    """A set-up node, stopped: copied for every round."""

    data: Path
    database_url: str | None  # PostgreSQL: the template database (SQLite: in ``data``)
    campaign_call: str = ""
    join_calls: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.database_url or sqlite_url(self.data)


async def create_node(
    work: Path, base_url: str, database_url: str | None, join_calls: int, now: datetime
) -> Template:
    """``init`` and the local actors and calls, through the command line."""
    data = work / "template"
    env = node_env(database_url)
    run_cli(["init", "--data", str(data), "--base-url", base_url, "--allow-private-network"], env)
    with (data / "chapterhouse.toml").open("a") as config:
        config.write("# raised by bench.inbox: the benchmark floods from one domain\n")
        for key, value in RATE_LIMITS.items():
            config.write(f"{key} = {value}\n")
    d = ["--data", str(data)]
    run_cli(["chapter", "create", LOCAL_CHAPTER, *d], env)
    run_cli(
        ["member", "add", ORGANISER, "--chapter", LOCAL_CHAPTER, "--role", "organiser", *d], env
    )
    run_cli(["campaign", "create", CAMPAIGN, *d], env)
    run_cli(["member", "add", CAMPAIGNER, "--chapter", CAMPAIGN, "--role", "organiser", *d], env)
    span = ["--start", (now - timedelta(hours=3)).isoformat(timespec="seconds")]
    span += ["--end", (now + timedelta(days=30)).isoformat(timespec="seconds")]
    argv = [
        "action",
        "create",
        "--as",
        CAMPAIGNER,
        "--chapter",
        CAMPAIGN,
        "--title",
        "Clean rivers",
    ]
    argv += [*span, "--target", "participants=100000:people", *d]
    campaign_call = run_cli(argv, env).splitlines()[0]
    start = now + timedelta(days=1)
    gate = asyncio.Semaphore(2)  # the command line's start-up is most of its time: two at once

    async def call(i: int) -> str:
        argv = ["action", "create", "--as", ORGANISER, "--chapter", LOCAL_CHAPTER]
        argv += ["--title", f"Street stall {i}", "--start", start.isoformat(timespec="seconds")]
        argv += ["--end", (start + timedelta(hours=2)).isoformat(timespec="seconds"), *d]
        async with gate:
            return (await asyncio.to_thread(run_cli, argv, env)).splitlines()[0]

    calls = tuple(await asyncio.gather(*(call(i) for i in range(join_calls))))
    return Template(data, database_url, campaign_call, calls)


async def start_node(
    data: Path, port: int, env: dict[str, str], log: Path, pin: str | None
) -> asyncio.subprocess.Process:
    """Default ``serve`` (its workers in-process); returns once it serves."""
    argv = [str(BIN / "chapterhouse"), "serve", "--data", str(data), "--port", str(port)]
    if pin is not None:
        argv = ["taskset", "-c", pin, *argv]
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=log.open("ab")
    )
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(60):
            while not (await proc.stdout.readline()).decode().startswith("serving"):
                if proc.stdout.at_eof():
                    raise RuntimeError(f"the node exited before serving; see {log}")
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    return proc


async def join_remote_side(
    template: Template, world: World, sender: Sender, port: int, log: Path
) -> None:
    """Serve the template once: the remote chapters join the campaign and announce the calls
    they will report on; returns when all of it is handled."""
    proc = await start_node(template.data, port, node_env(template.database_url), log, None)
    try:
        async with aiohttp.ClientSession() as session:
            started = time.perf_counter()
            await sender.post_all(session, warm_up_requests(world, sender))  # keys fetched once
            follows = [
                sender.signed(c, follow(c, world.campaign, i)) for i, c in enumerate(world.chapters)
            ]
            await sender.post_all(session, follows)
            await wait_for_follows(template.url, world, timeout=120)
            template.timings["follows"] = time.perf_counter() - started
            started = time.perf_counter()
            seeds = [
                sender.signed(c, event(world, c, "seed", i, seeded=True))
                for i in range(world.seeds)
                for c in world.chapters
            ]
            await sender.post_all(session, seeds)
            drained = await wait_drained(session, world.node, timeout=600)
            if drained.backlog:
                raise RuntimeError(f"the template's setup was not handled; see {log}")
            template.timings["seeded calls"] = time.perf_counter() - started
    finally:
        await stop(proc)
    db = open_database(template.url)
    try:
        async with db.read() as session:
            held = await _count(session, ActionCall, ActionCall.ap_id.like("%/events/seed-%"))
    finally:
        await db.dispose()
    if held != world.seeds * len(world.chapters):
        expected = world.seeds * len(world.chapters)
        raise RuntimeError(f"the node holds {held} of the {expected} seeded calls")


async def wait_for_follows(url: str, world: World, timeout: float) -> None:
    """Each remote chapter follows the campaign, and the campaign follows it back (accepted)."""
    wanted = {(c.actor_id, world.campaign) for c in world.chapters}
    wanted |= {(world.campaign, c.actor_id) for c in world.chapters}
    db = open_database(url)
    try:
        async with asyncio.timeout(timeout):
            while True:
                async with db.read() as session:
                    rows = await session.execute(
                        select(Follow.follower, Follow.target).where(Follow.state == ACCEPTED)
                    )
                    if wanted <= {(a, b) for a, b in rows}:
                        return
                await asyncio.sleep(0.2)
    finally:
        await db.dispose()


async def copy_node(template: Template, work: Path, postgres: str | None, name: str) -> Template:
    """A fresh node for one round: the template's data directory and database, copied."""
    data = work / name
    shutil.copytree(template.data, data)
    url = None
    if template.database_url and postgres:
        url = await create_database(postgres, "bench_inbox_", template=template.database_url)
    return Template(data, url, template.campaign_call, template.join_calls)


async def discard_node(node: Template, postgres: str | None, keep: bool) -> None:
    if node.database_url and postgres:
        await drop_database(postgres, node.database_url)
    if not keep:
        shutil.rmtree(node.data, ignore_errors=True)


# ---------------------------------------------------------------------------------- metrics


async def read_metrics(session: aiohttp.ClientSession, base_url: str) -> dict[str, float]:
    """The scrape as {series (with its labels): value}."""
    async with session.get(f"{base_url}/metrics") as resp:
        if resp.status != 200:
            raise RuntimeError(f"/metrics answered {resp.status}")
        text = await resp.text()
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            found[series] = float(value)
    return found


@dataclass(frozen=True)
class Drained:
    backlog: int  # 0 once drained (else what was left at the time-out)
    handled: int  # chapterhouse_inbox_handled_total then
    accepted: int  # chapterhouse_inbox_accepted_total then (all types; duplicates too)
    at: float  # time.monotonic() when the backlog was first seen at 0 (or the time-out)
    deliveries: dict[str, int]  # the delivery queue then, by state


async def wait_drained(
    session: aiohttp.ClientSession, base_url: str, timeout: float, settle: float = 0.0
) -> Drained:
    """Poll ``/metrics`` until ``chapterhouse_inbox_backlog`` is 0 (or ``timeout`` passes).

    With ``settle``: the backlog must still be 0 that many seconds later with no activity
    accepted meanwhile, else the wait goes on. Requests in flight when wrk stopped are still
    being accepted after it returns; a backlog seen at 0 before they are stored is not drained.
    The time returned is when the backlog was first seen at 0 for good."""
    deadline = time.monotonic() + timeout
    while True:
        found = await _poll_until_empty(session, base_url, deadline)
        if found.backlog or not settle:
            return found
        await asyncio.sleep(settle)
        again = await _poll_until_empty(session, base_url, 0.0)
        if not again.backlog and again.accepted == found.accepted:
            return dataclasses.replace(found, handled=again.handled, deliveries=again.deliveries)


async def _poll_until_empty(
    session: aiohttp.ClientSession, base_url: str, deadline: float
) -> Drained:
    while True:
        metrics = await read_metrics(session, base_url)
        now = time.monotonic()
        backlog = metrics.get("chapterhouse_inbox_backlog")
        handled = metrics.get("chapterhouse_inbox_handled_total")
        if backlog is None or handled is None:
            raise RuntimeError(
                "/metrics has no chapterhouse_inbox_backlog or chapterhouse_inbox_handled_total"
            )
        if backlog == 0 or now >= deadline:
            accepted = sum(
                v for k, v in metrics.items() if k.startswith("chapterhouse_inbox_accepted_total")
            )
            queue = {
                series.split('state="', 1)[1].rstrip('"}'): int(v)
                for series, v in metrics.items()
                if series.startswith("chapterhouse_delivery_queue{")
            }
            return Drained(int(backlog), int(handled), int(accepted), now, queue)
        await asyncio.sleep(POLL_SECONDS)


# ------------------------------------------------------------------------------ the check


@dataclass(frozen=True)
class Check:
    """What the database holds after a round, for this run's flood."""

    states: dict[str, dict[str, int]]  # kind → inbox item state → count
    calls: int  # the flood's Events stored as calls
    participants: int  # the flood's Joins holding a place
    reports: int  # the flood's reports stored
    contributions: int  # ... and counted toward the campaign

    def count(self, kind: str, state: str) -> int:
        return self.states.get(kind, {}).get(state, 0)

    def total(self, state: str) -> int:
        return sum(self.count(kind, state) for kind in KINDS)

    @property
    def problems(self) -> list[str]:
        found = []
        if self.total("failed"):
            found.append(f"{self.total('failed')} items failed")
        if self.total("received"):
            found.append(f"{self.total('received')} items not handled")
        for what, got, kind in (
            ("calls stored", self.calls, "event"),
            ("participants", self.participants, "join"),
            ("reports stored", self.reports, "report"),
            ("reports counted", self.contributions, "report"),
        ):
            if got != self.count(kind, "processed"):
                found.append(f"{what} {got} ≠ {self.count(kind, 'processed')} handled")
        return found

    def line(self) -> str:
        handled = ", ".join(f"{self.count(k, 'processed'):,} {k}s" for k in KINDS)
        return (
            f"check: {self.total('processed'):,} handled ({handled}), "
            f"{self.total('failed')} failed, {self.total('received')} waiting; "
            f"{self.calls:,} calls stored, {self.participants:,} participants, "
            f"{self.reports:,} reports stored and {self.contributions:,} counted"
            + (f"; PROBLEMS: {'; '.join(self.problems)}" if self.problems else "; all as expected")
        )


async def _count(session: object, model: type, *where: object) -> int:
    stmt = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
    return int(await session.scalar(stmt) or 0)  # type: ignore[attr-defined]


async def check_database(url: str, run: str) -> Check:
    db = open_database(url)
    try:
        async with db.read() as session:
            states: dict[str, dict[str, int]] = {}
            for kind in KINDS:
                rows = await session.execute(
                    select(InboxItem.state, func.count())
                    .where(InboxItem.activity_id.like(f"%/{run}-{kind}-%"))
                    .group_by(InboxItem.state)
                )
                states[kind] = {str(state): int(n) for state, n in rows}
            return Check(
                states,
                await _count(session, ActionCall, ActionCall.ap_id.like(f"%/events/{run}-event-%")),
                await _count(
                    session,
                    Participant,
                    Participant.join_activity_id.like(f"%/{run}-join-%"),
                    Participant.state == "accepted",
                ),
                await _count(
                    session, ImpactReport, ImpactReport.ap_id.like(f"%/reports/{run}-report-%")
                ),
                await _count(
                    session,
                    Contribution,
                    Contribution.report.like(f"%/reports/{run}-report-%"),
                    Contribution.excluded.is_(None),
                    Contribution.retracted.is_(False),
                ),
            )
    finally:
        await db.dispose()


def warm_up_requests(world: World, sender: Sender) -> list[Signed]:
    """One note from every remote actor: the node fetches and caches each key before timing."""
    return [sender.signed(r, note(world, r, i, "warm")) for i, r in enumerate(world.remotes)]
