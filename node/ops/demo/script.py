"""``chapterhouse demo``: a small federation on loopback that plays a scripted day of action.

One campaign node and three chapter nodes run as separate ``chapterhouse serve`` processes, each
with its own data directory and database, all set up through the real command line. The script
then joins the chapters to the campaign, has members follow chapters (one across nodes), publishes
the campaign's call, adopts it in every chapter, collects RSVPs through the JSON API, files and
corrects signed impact reports, waits for the campaign's rollup and runs ``chapterhouse verify`` on
it. Between steps it polls real state (HTTP collections, the API, ``totals``), never a fixed sleep.
Afterwards the nodes keep running until SIGINT/SIGTERM (or stop at once with
``--exit-after-script``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

MARKER = ".chapterhouse-demo"
HOST = "127.0.0.1"
CAMPAIGN = "climate-day"
CAMPAIGN_ORGANISER = "maya"
#: Settings every demo node runs with: rollups at most once a second, a brisk delivery worker.
NODE_ENV = {
    "CHAPTERHOUSE_ROLLUP_INTERVAL_SECONDS": "1",
    "CHAPTERHOUSE_DELIVERY_POLL_SECONDS": "0.1",
}
STEP_TIMEOUT = 30.0  # how long any one wait may take
CLI_TIMEOUT = 60.0  # how long one ``chapterhouse`` command may take
STOP_TIMEOUT = 10.0  # how long a node gets to shut down after SIGTERM before it is killed
POLL_SECONDS = 0.2
AP_JSON = "application/activity+json"
#: Where the ``node`` package lives: the CLI children run ``python -m node`` from here.
PACKAGE_ROOT = Path(__file__).resolve().parents[3]

T = TypeVar("T")


class DemoError(Exception):
    """The demo cannot go on; the message says why."""


@dataclass(frozen=True)
class ChapterPlan:
    name: str
    title: str
    organiser: str
    members: tuple[str, ...]
    report: tuple[str, ...]  # ``--metric`` values of its impact report
    text: str


CHAPTERS = (
    ChapterPlan(
        "greenpark",
        "Green Park Clean-up Crew",
        "olga",
        ("ada", "ben"),
        ("participants=42:people", "kg_litter=120.5:kg"),
        "42 of us cleared 120.5 kg of litter from the Green Park brook.",
    ),
    ChapterPlan(
        "riverside",
        "Riverside Friends",
        "rui",
        ("cleo", "dev"),
        ("participants=35:people", "kg_litter=88:kg"),
        "35 neighbours pulled 88 kg of rubbish out of the river.",
    ),
    ChapterPlan(
        "oldtown",
        "Old Town Volunteers",
        "otto",
        ("eli", "fay"),
        ("participants=27:people", "kg_litter=64.25:kg"),
        "27 volunteers collected 64.25 kg along the old canal.",
    ),
)
#: The chapter that corrects its report, and the corrected numbers (a correction replaces them all).
CORRECTION = (
    "oldtown",
    ("participants=29:people", "kg_litter=70.25:kg"),
    "Recounted: 29 volunteers collected 70.25 kg along the old canal.",
)
#: A member of the first chapter who also follows, and joins the action of, the second chapter.
VISITOR = ("greenpark", "ada", "riverside")

CALL_OPTIONS = (
    "--title",
    "Climate Day river clean-up",
    "--start",
    "2027-04-12T10:00:00+01:00",
    "--end",
    "2027-04-12T13:00:00+01:00",
    "--timezone",
    "Europe/London",
    "--place",
    "Your nearest river bank",
    "--goal",
    "Clear the litter from every river bank in town",
    "--target",
    "participants=100:people",
    "--target",
    "kg_litter=300:kg",
)

STEPS = (
    "set up four nodes through the command line",
    "start the nodes (one `chapterhouse serve` each)",
    "chapters join the campaign",
    "members follow their chapters",
    "the campaign publishes a call",
    "chapters adopt the call",
    "members RSVP",
    "chapters report their impact",
    "a chapter corrects its report",
    "the campaign publishes its rollup",
    "anyone can verify the rollup",
)


def progress_bar(done: int, total: int) -> str:
    return "[" + "#" * done + "-" * (total - done) + f"] {done}/{total}"


def metric_values(metrics: Iterable[str]) -> dict[tuple[str, str], Decimal]:
    """``participants=42:people`` → {("participants", "people"): 42}."""
    values: dict[tuple[str, str], Decimal] = {}
    for item in metrics:
        name, _, rest = item.partition("=")
        amount, _, unit = rest.partition(":")
        values[(name, unit)] = Decimal(amount)
    return values


def totals_of(items: object) -> dict[tuple[str, str], Decimal]:
    """The totals of ``totals --json`` or of a rollup document, keyed like ``metric_values``."""
    out: dict[tuple[str, str], Decimal] = {}
    if isinstance(items, list):
        for t in items:
            if isinstance(t, dict) and t.get("value") is not None:
                out[(str(t.get("metric")), str(t.get("unit")))] = Decimal(str(t["value"]))
    return {k: v for k, v in out.items() if v != 0}


def describe_totals(values: Mapping[tuple[str, str], Decimal]) -> str:
    return ", ".join(f"{v} {unit} {metric}" for (metric, unit), v in sorted(values.items()))


def port_is_free(port: int) -> bool:
    """True when nothing listens on the port (a socket in TIME_WAIT does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def prepare_directory(directory: Path) -> Path:
    """Start fresh: delete an earlier demo's directory (only one that carries our marker)."""
    directory = directory.resolve()
    if directory.exists():
        if not directory.is_dir():
            raise DemoError(f"{directory} exists and is not a directory; choose another --dir")
        if (directory / MARKER).exists():
            shutil.rmtree(directory)
        elif any(directory.iterdir()):
            raise DemoError(
                f"{directory} exists and was not made by `chapterhouse demo` (it has no {MARKER}); "
                "choose another --dir or empty it yourself"
            )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text(
        "Made by `chapterhouse demo`; the demo deletes this whole directory when it starts again.\n",
        "utf-8",
    )
    return directory


def child_env() -> dict[str, str]:
    """The environment of every child: ours minus anything that would point a node elsewhere."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("CHAPTERHOUSE_") or k == "DATABASE_URL")
        or k == "CHAPTERHOUSE_LOG_LEVEL"
    }
    env.update(NODE_ENV)
    return env


@dataclass
class DemoNode:
    """One node of the demo: its data directory, its port and (once started) its process."""

    name: str  # the campaign or chapter it hosts
    port: int
    data_dir: Path
    process: asyncio.subprocess.Process | None = None
    actors: dict[str, str] = field(default_factory=dict)  # local name → actor id
    tokens: dict[str, str] = field(default_factory=dict)  # member name → bearer token

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def authority(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def log(self) -> Path:
        return self.data_dir / "serve.log"

    def handle(self, name: str) -> str:
        return f"acct:{name}@{self.authority}"

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text("utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


async def concurrently(*aws: Awaitable[T]) -> list[T]:
    """Run the awaitables together; the first failure cancels the others and is raised."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class Demo:
    def __init__(self, base_port: int, directory: Path) -> None:
        self.directory = directory
        self.env = child_env()
        self.campaign = DemoNode(CAMPAIGN, base_port, directory / CAMPAIGN)
        self.chapters = {
            plan.name: DemoNode(plan.name, base_port + 1 + i, directory / plan.name)
            for i, plan in enumerate(CHAPTERS)
        }
        self.plans = {plan.name: plan for plan in CHAPTERS}
        self.step = 0
        self.started = time.monotonic()
        self.call = ""  # the campaign's call
        self.local_calls: dict[str, str] = {}  # chapter → its adopted call
        self.reports: dict[str, str] = {}  # chapter → its report
        self.rollup = ""
        self.http: aiohttp.ClientSession | None = None

    @property
    def nodes(self) -> list[DemoNode]:
        return [self.campaign, *self.chapters.values()]

    # -- output ---------------------------------------------------------------------------

    def say(self, line: str = "") -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def begin(self, title: str) -> None:
        self.step += 1
        elapsed = time.monotonic() - self.started
        self.say(f"{progress_bar(self.step, len(STEPS))} {title}  (t+{elapsed:.1f} s)")

    def detail(self, line: str) -> None:
        self.say(f"    {line}")

    # -- child processes ------------------------------------------------------------------

    async def cli(self, *args: str, check: bool = True) -> tuple[int, str, str]:
        """Run ``chapterhouse ARGS`` in a subprocess; a failure (when checked) is a DemoError."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "node",
            *args,
            cwd=PACKAGE_ROOT,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        shown = "chapterhouse " + " ".join(args)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT)
        except BaseException as exc:  # a timeout, or the demo is being stopped
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            if isinstance(exc, TimeoutError):
                raise DemoError(f"`{shown}` did not finish within {CLI_TIMEOUT:.0f} s") from None
            raise
        code = proc.returncode if proc.returncode is not None else 1
        stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
        if check and code != 0:
            reason = [line for line in stderr.splitlines() if line.strip()]
            raise DemoError(
                f"`{shown}` failed (exit {code}): {reason[-1] if reason else stdout.strip()}"
            )
        return code, stdout, stderr

    async def run(self, node: DemoNode, *args: str) -> list[str]:
        """``chapterhouse ARGS --data NODE_DIR``; the lines it printed on stdout."""
        _code, out, _err = await self.cli(*args, "--data", str(node.data_dir))
        lines = [line for line in out.splitlines() if line.strip()]
        if not lines:
            raise DemoError(f"`chapterhouse {' '.join(args)}` on {node.name} printed nothing")
        return lines

    async def start(self, node: DemoNode) -> None:
        with node.log.open("ab") as log:
            node.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "node",
                "serve",
                "--data",
                str(node.data_dir),
                "--host",
                HOST,
                "--port",
                str(node.port),
                cwd=PACKAGE_ROOT,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )

        async def healthy() -> tuple[bool, str]:
            status, _ = await self.get(f"{node.base_url}/healthz")
            return status == 200, f"/healthz answered {status}"

        await self.until(f"the {node.name} node to answer on {node.base_url}", healthy)

    async def stop(self, node: DemoNode) -> None:
        proc, node.process = node.process, None
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        else:
            await proc.wait()

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(n) for n in self.nodes), return_exceptions=True)

    def check_alive(self) -> None:
        for node in self.nodes:
            proc = node.process
            if proc is not None and proc.returncode is not None:
                raise DemoError(
                    f"the {node.name} node stopped unexpectedly (exit {proc.returncode}); "
                    f"the end of {node.log}:\n{node.log_tail()}"
                )

    # -- HTTP -----------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        body: Mapping[str, object] | None = None,
        accept: str = AP_JSON,
    ) -> tuple[int, Any]:
        assert self.http is not None
        headers = {"Accept": accept}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self.http.request(method, url, headers=headers, json=body) as resp:
            text = await resp.text()
            try:
                data: Any = json.loads(text) if text else None
            except ValueError:
                data = text
            return resp.status, data

    async def get(self, url: str, token: str | None = None) -> tuple[int, Any]:
        return await self.request("GET", url, token=token)

    async def api(
        self, node: DemoNode, member: str, method: str, path: str, body: Mapping[str, object]
    ) -> Any:
        """One JSON API call as a member; anything but 2xx is a DemoError."""
        status, data = await self.request(
            method, f"{node.base_url}{path}", token=node.tokens[member], body=body
        )
        if not 200 <= status < 300:
            detail = data.get("detail") if isinstance(data, dict) else data
            raise DemoError(
                f"{method} {path} as {member} on {node.name} answered {status}: {detail}"
            )
        return data

    async def items(self, node: DemoNode, member: str, path: str) -> list[dict[str, Any]]:
        status, data = await self.get(f"{node.base_url}{path}", token=node.tokens[member])
        if status != 200 or not isinstance(data, dict):
            raise DemoError(f"GET {path} as {member} on {node.name} answered {status}")
        return [i for i in data.get("items", []) if isinstance(i, dict)]

    async def collection(self, url: str) -> set[str]:
        """The first page of an actor collection (the demo's are small)."""
        status, data = await self.get(f"{url}?page=1")
        if status != 200 or not isinstance(data, dict):
            raise DemoError(f"GET {url} answered {status}")
        return {i for i in data.get("orderedItems", []) if isinstance(i, str)}

    # -- waiting --------------------------------------------------------------------------

    async def until(
        self,
        what: str,
        check: Callable[[], Awaitable[tuple[bool, str]]],
        limit: float = STEP_TIMEOUT,
    ) -> None:
        """Poll ``check`` (→ done?, what it saw) until done; time out with a clear message."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        seen = ""
        while True:
            self.check_alive()
            try:
                done, seen = await check()
            except (aiohttp.ClientError, TimeoutError, DemoError) as exc:
                done, seen = False, str(exc) or type(exc).__name__
            if done:
                return
            if loop.time() >= deadline:
                raise DemoError(
                    f"timed out after {limit:g} s waiting for {what}"
                    + (f" (last seen: {seen})" if seen else "")
                )
            await asyncio.sleep(POLL_SECONDS)

    # -- the script -----------------------------------------------------------------------

    async def play(self) -> None:
        self.begin(STEPS[0])
        await concurrently(self.set_up_campaign(), *(self.set_up_chapter(p) for p in CHAPTERS))
        self.detail(
            f"{CAMPAIGN:<12} campaign {self.campaign.actors[CAMPAIGN]}, "
            f"organiser {CAMPAIGN_ORGANISER}"
        )
        for plan in CHAPTERS:
            node = self.chapters[plan.name]
            self.detail(
                f"{plan.name:<12} chapter {node.actors[plan.name]}, organiser {plan.organiser}, "
                f"members {', '.join(plan.members)}"
            )
        self.begin(STEPS[1])
        timeout = aiohttp.ClientTimeout(total=10)
        self.http = aiohttp.ClientSession(timeout=timeout)
        await concurrently(*(self.start(n) for n in self.nodes))
        for node in self.nodes:
            pid = node.process.pid if node.process is not None else "?"
            self.detail(f"{node.name:<12} {node.base_url}  (pid {pid}, log {node.log})")
        self.begin(STEPS[2])
        await self.join_campaign()
        self.begin(STEPS[3])
        await self.follow_chapters()
        self.begin(STEPS[4])
        await self.publish_call()
        self.begin(STEPS[5])
        await self.adopt_call()
        self.begin(STEPS[6])
        await self.rsvp()
        self.begin(STEPS[7])
        await self.report()
        self.begin(STEPS[8])
        await self.correct()
        self.begin(STEPS[9])
        await self.wait_rollup()
        self.begin(STEPS[10])
        await self.verify()

    async def set_up_campaign(self) -> None:
        node = self.campaign
        await self.cli(
            "init", "--data", str(node.data_dir), "--base-url", node.base_url,
            "--allow-private-network",
        )  # fmt: skip
        lines = await self.run(node, "campaign", "create", CAMPAIGN, "--title", "Climate Day")
        node.actors[CAMPAIGN] = lines[0]
        await self.add_member(node, CAMPAIGN_ORGANISER, CAMPAIGN, "organiser")

    async def set_up_chapter(self, plan: ChapterPlan) -> None:
        node = self.chapters[plan.name]
        await self.cli(
            "init", "--data", str(node.data_dir), "--base-url", node.base_url,
            "--allow-private-network",
        )  # fmt: skip
        lines = await self.run(node, "chapter", "create", plan.name, "--title", plan.title)
        node.actors[plan.name] = lines[0]
        await self.add_member(node, plan.organiser, plan.name, "organiser")
        for member in plan.members:
            await self.add_member(node, member, plan.name, "member")

    async def add_member(self, node: DemoNode, name: str, chapter: str, role: str) -> None:
        lines = await self.run(node, "member", "add", name, "--chapter", chapter, "--role", role)
        node.actors[name] = lines[0]
        token = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("token:")), "")
        if not token:
            raise DemoError(f"`chapterhouse member add {name}` printed no token")
        node.tokens[name] = token

    async def join_campaign(self) -> None:
        campaign_id = self.campaign.actors[CAMPAIGN]
        handle = self.campaign.handle(CAMPAIGN)
        await concurrently(
            *(
                self.run(node, "follow", "--as", name, handle)
                for name, node in self.chapters.items()
            )
        )
        chapter_ids = {node.actors[name] for name, node in self.chapters.items()}

        async def joined() -> tuple[bool, str]:
            followers = await self.collection(f"{campaign_id}/followers")
            following = await self.collection(f"{campaign_id}/following")
            accepted = [
                name
                for name, node in self.chapters.items()
                if campaign_id in await self.collection(f"{node.actors[name]}/following")
            ]
            seen = (
                f"campaign has {len(followers & chapter_ids)}/3 chapters as followers, "
                f"follows back {len(following & chapter_ids)}/3; "
                f"{len(accepted)}/3 chapters saw the Accept"
            )
            ok = chapter_ids <= followers and chapter_ids <= following and len(accepted) == 3
            return ok, seen

        await self.until("the chapters to join the campaign (and be followed back)", joined)
        for name in self.chapters:
            self.detail(f"{name:<12} follows {handle}; the campaign follows it back")

    def follow_plan(self) -> list[tuple[DemoNode, str, str, str]]:
        """(member's node, member, what to ask for, the actor it is) for every follow of step 4."""
        plan: list[tuple[DemoNode, str, str, str]] = []
        campaign_id = self.campaign.actors[CAMPAIGN]
        for name, node in self.chapters.items():
            chapter_plan = self.plans[name]
            chapter_id = node.actors[name]
            plan.extend(
                (node, member, chapter_id, chapter_id)
                for member in (chapter_plan.organiser, *chapter_plan.members)
            )
            # The organisers follow the campaign too, so its calls show in their feeds.
            plan.append((node, chapter_plan.organiser, campaign_id, campaign_id))
        # Across nodes, by handle (WebFinger).
        home, visitor, away = VISITOR
        away_node = self.chapters[away]
        handle = away_node.handle(away).removeprefix("acct:")
        plan.append((self.chapters[home], visitor, handle, away_node.actors[away]))
        return plan

    async def follow_chapters(self) -> None:
        plan = self.follow_plan()
        for node, member, target, _actor in plan:
            await self.api(node, member, "POST", "/api/v1/follows", {"target": target})

        async def accepted() -> tuple[bool, str]:
            done = 0
            for node, member, _target, actor in plan:
                rows = await self.items(node, member, "/api/v1/follows")
                done += any(r.get("target") == actor and r.get("state") == "accepted" for r in rows)
            return done == len(plan), f"{done}/{len(plan)} follows accepted"

        await self.until("every follow to be accepted", accepted)
        for name in self.chapters:
            chapter_plan = self.plans[name]
            people = ", ".join((chapter_plan.organiser, *chapter_plan.members))
            self.detail(f"{name:<12} followed by {people} (POST /api/v1/follows)")
        self.detail(f"organisers {', '.join(p.organiser for p in CHAPTERS)} follow {CAMPAIGN}")
        home, visitor, _away = VISITOR
        self.detail(f"{visitor} ({home}) also follows {plan[-1][2]} on another node")

    async def publish_call(self) -> None:
        lines = await self.run(
            self.campaign,
            "action", "create", "--as", CAMPAIGN_ORGANISER, "--chapter", CAMPAIGN, *CALL_OPTIONS,
        )  # fmt: skip
        self.call = lines[0]
        self.detail(f"{CAMPAIGN_ORGANISER} published {self.call}")

        async def arrived() -> tuple[bool, str]:
            got = []
            for name, node in self.chapters.items():
                feed = await self.items(node, self.plans[name].organiser, "/api/v1/feed")
                if any(item.get("id") == self.call for item in feed):
                    got.append(name)
            return len(got) == len(self.chapters), f"reached {', '.join(got) or 'no chapter'}"

        await self.until("the call to reach every chapter", arrived)
        self.detail("it reached every chapter (it is in each organiser's feed)")

    async def adopt_call(self) -> None:
        async def adopt(name: str) -> None:
            node = self.chapters[name]
            organiser = self.plans[name].organiser
            lines = await self.run(
                node, "action", "adopt", self.call, "--as", organiser, "--chapter", name
            )
            self.local_calls[name] = lines[0]

        await concurrently(*(adopt(name) for name in self.chapters))
        home, visitor, away = VISITOR
        readers = [
            (node, member, self.local_calls[name])
            for name, node in self.chapters.items()
            for member in self.plans[name].members
        ]
        readers.append((self.chapters[home], visitor, self.local_calls[away]))

        async def in_feeds() -> tuple[bool, str]:
            done = 0
            for node, member, call in readers:
                feed = await self.items(node, member, "/api/v1/feed")
                done += any(item.get("id") == call for item in feed)
            return done == len(readers), f"{done}/{len(readers)} member feeds have it"

        await self.until("the adopted calls to reach the members' feeds", in_feeds)
        for name in self.chapters:
            self.detail(f"{name:<12} adopted it: {self.local_calls[name]}")

    async def rsvp(self) -> None:
        home, visitor, away = VISITOR
        joins = [
            (node, member, self.local_calls[name])
            for name, node in self.chapters.items()
            for member in self.plans[name].members
        ]
        joins.append((self.chapters[home], visitor, self.local_calls[away]))
        for node, member, call in joins:
            await self.api(node, member, "POST", "/api/v1/rsvps", {"call": call})
        expected = {name: len(self.plans[name].members) for name in self.chapters}
        expected[away] += 1

        async def confirmed() -> tuple[bool, str]:
            accepted = 0
            for node, member, call in joins:
                rows = await self.items(node, member, "/api/v1/commitments")
                accepted += any(
                    r.get("call") == call and r.get("state") == "accepted" for r in rows
                )
            counts = {}
            for name, call in self.local_calls.items():
                _status, doc = await self.get(call)
                counts[name] = doc.get("participantCount") if isinstance(doc, dict) else None
            seen = f"{accepted}/{len(joins)} RSVPs accepted, participant counts {counts}"
            return accepted == len(joins) and counts == expected, seen

        await self.until("every RSVP to be accepted and counted", confirmed)
        for name, count in expected.items():
            extra = f" (incl. {visitor} from {home}'s node)" if name == away else ""
            self.detail(f"{name:<12} {count} coming{extra}")

    def expected_totals(self, *, corrected: bool) -> dict[tuple[str, str], Decimal]:
        totals: dict[tuple[str, str], Decimal] = {}
        for plan in CHAPTERS:
            metrics = CORRECTION[1] if corrected and plan.name == CORRECTION[0] else plan.report
            for key, value in metric_values(metrics).items():
                totals[key] = totals.get(key, Decimal(0)) + value
        return {k: v for k, v in totals.items() if v != 0}

    async def campaign_totals(self) -> dict[str, Any]:
        lines = await self.run(self.campaign, "totals", CAMPAIGN, "--json")
        summary = json.loads("\n".join(lines))
        if not isinstance(summary, dict):
            raise DemoError("`chapterhouse totals --json` printed no JSON object")
        return summary

    async def wait_totals(self, expected: Mapping[tuple[str, str], Decimal], what: str) -> None:
        """Poll the campaign's running totals (the JSON API, as its organiser)."""
        path = f"/api/v1/campaigns/{CAMPAIGN}/totals"

        async def counted() -> tuple[bool, str]:
            status, data = await self.get(
                f"{self.campaign.base_url}{path}", token=self.campaign.tokens[CAMPAIGN_ORGANISER]
            )
            if status != 200 or not isinstance(data, dict):
                return False, f"GET {path} answered {status}"
            got = totals_of(data.get("totals"))
            chapters = data.get("chapterCount")
            seen = f"{chapters} chapters: {describe_totals(got) or 'nothing'}"
            return got == expected and chapters == len(CHAPTERS), seen

        await self.until(what, counted)
        self.detail(f"campaign totals: {describe_totals(expected)}  (GET {path})")

    async def report(self) -> None:
        async def file(name: str) -> None:
            plan = self.plans[name]
            metrics = [arg for m in plan.report for arg in ("--metric", m)]
            lines = await self.run(
                self.chapters[name],
                "report", "create", "--as", plan.organiser, "--call", self.local_calls[name],
                *metrics, "--method", "counted", "--text", plan.text,
            )  # fmt: skip
            self.reports[name] = lines[0]

        await concurrently(*(file(name) for name in self.chapters))
        for name in self.chapters:
            self.detail(f"{name:<12} {' '.join(self.plans[name].report)}  {self.reports[name]}")
        await self.wait_totals(
            self.expected_totals(corrected=False), "the campaign to count all three reports"
        )

    async def correct(self) -> None:
        name, metrics, text = CORRECTION
        args = [arg for m in metrics for arg in ("--metric", m)]
        await self.run(
            self.chapters[name],
            "report", "update", self.reports[name], "--as", self.plans[name].organiser,
            *args, "--method", "counted", "--text", text,
        )  # fmt: skip
        self.detail(f"{name:<12} now reports {' '.join(metrics)}")
        await self.wait_totals(
            self.expected_totals(corrected=True), "the campaign to count the correction"
        )

    async def wait_rollup(self) -> None:
        expected = self.expected_totals(corrected=True)

        async def totals_ready() -> tuple[bool, str]:
            summary = await self.campaign_totals()
            got = totals_of(summary.get("totals"))
            rollup = summary.get("rollup")
            self.rollup = rollup if isinstance(rollup, str) else ""
            seen = (
                f"{summary.get('chapterCount')} chapters: {describe_totals(got) or 'nothing'}, "
                f"rollup {self.rollup or 'not published yet'}"
            )
            return got == expected and bool(self.rollup), seen

        await self.until(
            "`chapterhouse totals` to show the totals and a rollup", totals_ready, limit=45
        )
        self.detail(f"`chapterhouse totals {CAMPAIGN} --json`: {describe_totals(expected)}")

        async def published() -> tuple[bool, str]:
            status, doc = await self.get(self.rollup)
            if status != 200 or not isinstance(doc, dict):
                return False, f"GET {self.rollup} answered {status}"
            got = totals_of(doc.get("chapterhouse:totals"))
            sources = doc.get("chapterhouse:sources")
            n = len(sources) if isinstance(sources, list) else 0
            seen = f"the rollup counts {n} reports: {describe_totals(got) or 'nothing'}"
            return got == expected and n == len(CHAPTERS), seen

        await self.until("the rollup to show the corrected totals", published)
        _status, doc = await self.get(self.rollup)
        self.detail(f"rollup {self.rollup}")
        if isinstance(doc, dict) and isinstance(doc.get("content"), str):
            self.detail(f'"{doc["content"]}"')

    async def verify(self) -> None:
        code, out, err = await self.cli(
            "verify", self.rollup, "--allow-private-network", check=False
        )
        lines = [line for line in out.splitlines() if line.strip()]
        for line in lines:
            self.detail(line)
        if code != 0:
            reason = lines[0] if lines else (err.strip().splitlines() or ["no output"])[-1]
            raise DemoError(f"`chapterhouse verify {self.rollup}` did not verify: {reason}")

    # -- the end --------------------------------------------------------------------------

    def print_urls(self) -> None:
        say, campaign = self.say, self.campaign
        say()
        say("The federation is running. Open:")
        say("  front pages:")
        for node in self.nodes:
            say(f"    {node.name:<12} {node.base_url}/")
        say("  chapters:")
        for name, node in self.chapters.items():
            say(f"    {name:<12} {node.actors[name]}  ({node.handle(name)})")
        say(f"  campaign:      {campaign.actors[CAMPAIGN]}  ({campaign.handle(CAMPAIGN)})")
        say(f"  rollup:        {self.rollup}")
        say(f"  the call:      {self.call}")
        say("  adopted calls:")
        for name in self.chapters:
            say(f"    {name:<12} {self.local_calls[name]}")
        say("  bearer tokens (JSON API, Authorization: Bearer TOKEN):")
        home, visitor, away = VISITOR
        picks = [(home, visitor), (away, self.plans[away].members[0])]
        for name, member in picks:
            label = f"{member} ({name})"
            say(f"    {label:<18} {self.chapters[name].tokens[member]}")
        node = self.chapters[home]
        say(
            f"  e.g. curl -H 'Authorization: Bearer {node.tokens[visitor]}' "
            f"{node.base_url}/api/v1/feed"
        )
        say(f"  data and logs: {self.directory}")


async def run_demo(*, base_port: int, directory: Path, exit_after_script: bool) -> int:
    """Play the demo. 0: it played through and the nodes were stopped (Ctrl-C, SIGTERM, or
    ``exit_after_script``); 1: it could not (the message says why); 130: interrupted mid-script.
    Every node process is stopped before this returns, whatever happened."""
    demo: Demo | None = None
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    script: asyncio.Task[None] | None = None

    def on_signal() -> None:
        stop.set()
        if script is not None and not script.done():
            script.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    code = 1
    try:
        ports = list(range(base_port, base_port + 1 + len(CHAPTERS)))
        if base_port < 1 or ports[-1] > 65535:
            raise DemoError(
                f"--base-port {base_port}: the demo needs ports {base_port}-{ports[-1]}"
            )
        taken = [p for p in ports if not port_is_free(p)]
        if taken:
            raise DemoError(
                f"port{'s' if len(taken) > 1 else ''} {', '.join(map(str, taken))} on {HOST} "
                f"already in use; the demo needs {ports[0]}-{ports[-1]} (choose another --base-port)"
            )
        try:
            directory = prepare_directory(directory)
        except OSError as exc:
            raise DemoError(f"cannot prepare {directory}: {exc}") from exc
        demo = Demo(base_port, directory)
        script = asyncio.create_task(demo.play())
        try:
            await script
        except asyncio.CancelledError:
            if not stop.is_set():
                raise
            sys.stderr.write("interrupted: stopping the nodes\n")
            code = 130
        else:
            demo.print_urls()
            if exit_after_script:
                demo.say("Stopping the nodes (--exit-after-script).")
            else:
                demo.say("Press Ctrl-C to stop the nodes.")
                await stop.wait()
                demo.say("Stopping the nodes.")
            code = 0
    except DemoError as exc:
        if stop.is_set():  # a command that the same Ctrl-C interrupted
            sys.stderr.write("interrupted: stopping the nodes\n")
            code = 130
        else:
            sys.stderr.write(f"error: {exc}\n")
            if demo is not None:
                sys.stderr.write(f"the nodes' data and logs are in {demo.directory}\n")
    finally:
        if demo is not None:
            await demo.stop_all()
            if demo.http is not None:
                await demo.http.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if code == 0 and demo is not None:
        demo.say("All nodes stopped.")
    return code
