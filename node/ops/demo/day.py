"""The scripted day of action that ``chapterhouse demo`` plays on its nodes, step by step.

Every node is set up through the real command line. The script then joins the chapters to the
campaign, has members follow chapters (one across nodes), publishes the campaign's call, adopts
it in every chapter, collects RSVPs through the JSON API, files and corrects signed impact
reports, waits for the campaign's rollup and runs ``chapterhouse verify`` on it; last, the
campaign moves its call and a chapter cancels its own (``changes.py``). Each step waits for the
state it caused to show on the nodes that should see it.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from node.ops.demo.changes import cancel_call, move_call
from node.ops.demo.client import DemoClient, concurrently
from node.ops.demo.errors import DemoError
from node.ops.demo.nodes import DemoCluster, DemoNode
from node.ops.demo.organiser import check_in, evening_call, reminder
from node.ops.demo.plan import (
    CAMPAIGN,
    CAMPAIGN_ORGANISER,
    CHAPTERS,
    CHECK_IN,
    CORRECTION,
    EXCLUSION,
    STEPS,
    VISITOR,
    ChapterPlan,
    call_options,
    counted_chapters,
    describe_totals,
    expected_totals,
    progress_bar,
    totals_of,
)
from node.ops.demo.signins import give_password, sign_in_lines


class Demo(DemoClient):
    """The script, played against a ``DemoCluster`` through the client it is."""

    def __init__(self, base_port: int, directory: Path) -> None:
        super().__init__(DemoCluster(base_port, directory))
        self.directory = directory
        self.campaign = self.cluster.campaign
        self.chapters = self.cluster.chapters
        self.plans = {plan.name: plan for plan in CHAPTERS}
        self.step = 0
        self.started = time.monotonic()
        self.call = ""  # the campaign's call
        self.local_calls: dict[str, str] = {}  # chapter → its adopted call
        self.reports: dict[str, str] = {}  # chapter → its report
        self.rollup = ""
        self.evening_call = ""  # the reminding chapter's call (organiser.py)

    @property
    def nodes(self) -> list[DemoNode]:
        return self.cluster.nodes

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

    async def start(self, node: DemoNode) -> None:
        """Start the node's ``chapterhouse serve`` and wait until it answers ``/healthz``."""
        node.server.spawn()

        async def healthy() -> tuple[bool, str]:
            status, _ = await self.get(f"{node.base_url}/healthz")
            return status == 200, f"/healthz answered {status}"

        await self.until(f"the {node.name} node to answer on {node.base_url}", healthy)

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
            process = node.server.process
            pid = process.pid if process is not None else "?"
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
        await evening_call(self)  # a poll vote from another node counts as an RSVP
        self.begin(STEPS[8])
        await check_in(self)
        for step, play in enumerate(
            (self.report, self.correct, self.exclude, self.wait_rollup, self.verify), start=9
        ):
            self.begin(STEPS[step])
            await play()
        self.begin(STEPS[14])
        await move_call(self)  # the adopted calls and a commitment follow (changes.py)
        self.begin(STEPS[15])
        await cancel_call(self)  # a remote participant is told
        self.begin(STEPS[16])
        await reminder(self)

    async def set_up_campaign(self) -> None:
        node = self.campaign
        await self.cli(*node.server.init_args())
        lines = await self.run(node, "campaign", "create", CAMPAIGN, "--title", "Climate Day")
        node.actors[CAMPAIGN] = lines[0]
        await self.add_member(node, CAMPAIGN_ORGANISER, CAMPAIGN, "organiser")
        await give_password(self, node, CAMPAIGN_ORGANISER)

    async def set_up_chapter(self, plan: ChapterPlan) -> None:
        node = self.chapters[plan.name]
        await self.cli(*node.server.init_args())
        lines = await self.run(node, "chapter", "create", plan.name, "--title", plan.title)
        node.actors[plan.name] = lines[0]
        await self.add_member(node, plan.organiser, plan.name, "organiser")
        for member in plan.members:
            await self.add_member(node, member, plan.name, "member")
        # A web sign-in of each role (both at once: each command is a process and a hash).
        await concurrently(
            *(give_password(self, node, n) for n in (plan.organiser, plan.members[0]))
        )

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
            "action", "create", "--as", CAMPAIGN_ORGANISER, "--chapter", CAMPAIGN, *call_options(datetime.now(UTC)),
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

    async def campaign_totals(self) -> dict[str, Any]:
        lines = await self.run(self.campaign, "totals", CAMPAIGN, "--json")
        summary = json.loads("\n".join(lines))
        if not isinstance(summary, dict):
            raise DemoError("`chapterhouse totals --json` printed no JSON object")
        return summary

    async def wait_totals(
        self,
        expected: Mapping[tuple[str, str], Decimal],
        what: str,
        chapters_counted: int = len(CHAPTERS),
    ) -> None:
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
            return got == expected and chapters == chapters_counted, seen

        await self.until(what, counted)
        self.detail(f"campaign totals: {describe_totals(expected)}  (GET {path})")

    async def report(self) -> None:
        async def file(name: str) -> None:
            plan = self.plans[name]
            counted = name == CHECK_IN[0]  # its head count comes from the check-ins
            metrics = [
                arg
                for m in plan.report
                if not (counted and m.startswith("participants="))
                for arg in ("--metric", m)
            ] + (["--from-attendance"] if counted else [])
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
            expected_totals(corrected=False), "the campaign to count all three reports"
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
            expected_totals(corrected=True), "the campaign to count the correction"
        )

    async def exclude(self) -> None:
        name, reason = EXCLUSION
        await self.run(
            self.campaign,
            "campaign", "exclude", CAMPAIGN, self.reports[name], "--as", CAMPAIGN_ORGANISER,
            "--reason", reason,
        )  # fmt: skip
        self.detail(f"{name:<12} left out: {reason} (the signed rollup will say so)")
        await self.wait_totals(
            expected_totals(corrected=True, excluded=True),
            "the campaign to leave the report out",
            counted_chapters(excluded=True),
        )

    async def wait_rollup(self) -> None:
        expected = expected_totals(corrected=True, excluded=True)

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
            left_out = doc.get("chapterhouse:exclusions")
            listed = len(left_out) if isinstance(left_out, list) else 0
            seen += f", {listed} left out"
            return got == expected and n == counted_chapters(excluded=True) and listed == 1, seen

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

    def role_of(self, node: DemoNode, name: str) -> str:
        plan = self.plans.get(node.name)
        return "organiser" if plan is None or name == plan.organiser else "member"

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
        say("  sign in to the pages (name, password):")
        for line in sign_in_lines(self.nodes, self.role_of):
            say(f"    {line}")
        say(f"  data and logs: {self.directory}")
