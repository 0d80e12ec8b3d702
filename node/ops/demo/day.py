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

from node.interfaces.cli.words import N_, _, number
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
from node.ops.demo.signins import closing_lines, give_password


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
        """The progress line of the next step; ``title`` is one of ``STEPS`` (marked ``N_``)."""
        self.step += 1
        elapsed = time.monotonic() - self.started
        self.say(f"{progress_bar(self.step, len(STEPS))} {_(title)}  (t+{elapsed:.1f} s)")

    def detail(self, line: str) -> None:
        self.say(f"    {line}")

    async def start(self, node: DemoNode) -> None:
        """Start the node's ``chapterhouse serve`` and wait until it answers ``/healthz``."""
        node.server.spawn()

        async def healthy() -> tuple[bool, str]:
            status, _body = await self.get(f"{node.base_url}/healthz")
            return status == 200, _("/healthz answered {answer}").format(answer=status)

        what = _("the {node} node to answer on {url}").format(node=node.name, url=node.base_url)
        await self.until(what, healthy)

    # -- the script -----------------------------------------------------------------------

    async def play(self) -> None:
        self.begin(STEPS[0])
        await concurrently(self.set_up_campaign(), *(self.set_up_chapter(p) for p in CHAPTERS))
        said = _("campaign {actor}, organiser {organiser}")
        actor = self.campaign.actors[CAMPAIGN]
        self.detail(f"{CAMPAIGN:<12} " + said.format(actor=actor, organiser=CAMPAIGN_ORGANISER))
        for plan in CHAPTERS:
            node = self.chapters[plan.name]
            said = _("chapter {actor}, organiser {organiser}, members {members}").format(
                actor=node.actors[plan.name],
                organiser=plan.organiser,
                members=", ".join(plan.members),
            )
            self.detail(f"{plan.name:<12} {said}")
        self.begin(STEPS[1])
        timeout = aiohttp.ClientTimeout(total=10)
        self.http = aiohttp.ClientSession(timeout=timeout)
        await concurrently(*(self.start(n) for n in self.nodes))
        for node in self.nodes:
            process = node.server.process
            pid = process.pid if process is not None else "?"
            said = _("(pid {pid}, log {log})").format(pid=pid, log=node.log)
            self.detail(f"{node.name:<12} {node.base_url}  {said}")
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
            raise DemoError(N_("`chapterhouse member add {name}` printed no token"), name=name)
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
            seen = _(
                "campaign has {followers}/{total} chapters as followers, follows back "
                "{following}/{total}; {accepted}/{total} chapters saw the Accept"
            ).format(
                followers=len(followers & chapter_ids),
                following=len(following & chapter_ids),
                accepted=len(accepted),
                total=len(chapter_ids),
            )
            ok = chapter_ids <= followers and chapter_ids <= following and len(accepted) == 3
            return ok, seen

        await self.until(_("the chapters to join the campaign (and be followed back)"), joined)
        said = _("follows {handle}; the campaign follows it back").format(handle=handle)
        for name in self.chapters:
            self.detail(f"{name:<12} {said}")

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
            seen = _("{done}/{total} follows accepted").format(done=done, total=len(plan))
            return done == len(plan), seen

        await self.until(_("every follow to be accepted"), accepted)
        for name in self.chapters:
            chapter_plan = self.plans[name]
            people = ", ".join((chapter_plan.organiser, *chapter_plan.members))
            said = _("followed by {people} (POST /api/v1/follows)").format(people=people)
            self.detail(f"{name:<12} {said}")
        organisers = ", ".join(p.organiser for p in CHAPTERS)
        said = _("organisers {organisers} follow {campaign}")
        self.detail(said.format(organisers=organisers, campaign=CAMPAIGN))
        home, visitor, _away = VISITOR
        said = _("{member} ({chapter}) also follows {handle} on another node")
        self.detail(said.format(member=visitor, chapter=home, handle=plan[-1][2]))

    async def publish_call(self) -> None:
        lines = await self.run(
            self.campaign,
            "action", "create", "--as", CAMPAIGN_ORGANISER, "--chapter", CAMPAIGN, *call_options(datetime.now(UTC)),
        )  # fmt: skip
        self.call = lines[0]
        said = _("{organiser} published {call}")
        self.detail(said.format(organiser=CAMPAIGN_ORGANISER, call=self.call))

        async def arrived() -> tuple[bool, str]:
            got = []
            for name, node in self.chapters.items():
                feed = await self.items(node, self.plans[name].organiser, "/api/v1/feed")
                if any(item.get("id") == self.call for item in feed):
                    got.append(name)
            seen = _("reached {chapters}").format(chapters=", ".join(got) or _("no chapter"))
            return len(got) == len(self.chapters), seen

        await self.until(_("the call to reach every chapter"), arrived)
        self.detail(_("it reached every chapter (it is in each organiser's feed)"))

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
            seen = _("{done}/{total} member feeds have it").format(done=done, total=len(readers))
            return done == len(readers), seen

        await self.until(_("the adopted calls to reach the members' feeds"), in_feeds)
        for name in self.chapters:
            said = _("adopted it: {call}").format(call=self.local_calls[name])
            self.detail(f"{name:<12} {said}")

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
            seen = _("{done}/{total} RSVPs accepted, participant counts {counts}").format(
                done=accepted, total=len(joins), counts=counts
            )
            return accepted == len(joins) and counts == expected, seen

        await self.until(_("every RSVP to be accepted and counted"), confirmed)
        for name, count in expected.items():
            away_said = _("{count} coming (incl. {member} from {chapter}'s node)")
            said = (away_said if name == away else _("{count} coming")).format(
                count=number(count), member=visitor, chapter=home
            )
            self.detail(f"{name:<12} {said}")

    async def campaign_totals(self) -> dict[str, Any]:
        lines = await self.run(self.campaign, "totals", CAMPAIGN, "--json")
        summary = json.loads("\n".join(lines))
        if not isinstance(summary, dict):
            raise DemoError(N_("`chapterhouse totals --json` printed no JSON object"))
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
                return False, _("GET {url} answered {answer}").format(url=path, answer=status)
            got = totals_of(data.get("totals"))
            chapters = data.get("chapterCount")
            seen = _("{count} chapters: {totals}").format(
                count=chapters, totals=describe_totals(got) or _("nothing")
            )
            return got == expected and chapters == chapters_counted, seen

        await self.until(what, counted)
        said = _("campaign totals: {totals}  (GET {path})")
        self.detail(said.format(totals=describe_totals(expected), path=path))

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
            expected_totals(corrected=False), _("the campaign to count all three reports")
        )

    async def correct(self) -> None:
        name, metrics, text = CORRECTION
        args = [arg for m in metrics for arg in ("--metric", m)]
        await self.run(
            self.chapters[name],
            "report", "update", self.reports[name], "--as", self.plans[name].organiser,
            *args, "--method", "counted", "--text", text,
        )  # fmt: skip
        said = _("now reports {metrics}").format(metrics=" ".join(metrics))
        self.detail(f"{name:<12} {said}")
        await self.wait_totals(
            expected_totals(corrected=True), _("the campaign to count the correction")
        )

    async def exclude(self) -> None:
        name, reason = EXCLUSION
        await self.run(
            self.campaign,
            "campaign", "exclude", CAMPAIGN, self.reports[name], "--as", CAMPAIGN_ORGANISER,
            "--reason", reason,
        )  # fmt: skip
        said = _("left out: {reason} (the signed rollup will say so)").format(reason=reason)
        self.detail(f"{name:<12} {said}")
        await self.wait_totals(
            expected_totals(corrected=True, excluded=True),
            _("the campaign to leave the report out"),
            counted_chapters(excluded=True),
        )

    async def wait_rollup(self) -> None:
        expected = expected_totals(corrected=True, excluded=True)

        async def totals_ready() -> tuple[bool, str]:
            summary = await self.campaign_totals()
            got = totals_of(summary.get("totals"))
            rollup = summary.get("rollup")
            self.rollup = rollup if isinstance(rollup, str) else ""
            seen = _("{count} chapters: {totals}, rollup {rollup}").format(
                count=summary.get("chapterCount"),
                totals=describe_totals(got) or _("nothing"),
                rollup=self.rollup or _("not published yet"),
            )
            return got == expected and bool(self.rollup), seen

        await self.until(
            _("`chapterhouse totals` to show the totals and a rollup"), totals_ready, limit=45
        )
        self.detail(f"`chapterhouse totals {CAMPAIGN} --json`: {describe_totals(expected)}")

        async def published() -> tuple[bool, str]:
            status, doc = await self.get(self.rollup)
            if status != 200 or not isinstance(doc, dict):
                return False, _("GET {url} answered {answer}").format(
                    url=self.rollup, answer=status
                )
            got = totals_of(doc.get("chapterhouse:totals"))
            sources = doc.get("chapterhouse:sources")
            n = len(sources) if isinstance(sources, list) else 0
            left_out = doc.get("chapterhouse:exclusions")
            listed = len(left_out) if isinstance(left_out, list) else 0
            seen = _("the rollup counts {count} reports: {totals}, {excluded} left out").format(
                count=n, totals=describe_totals(got) or _("nothing"), excluded=listed
            )
            return got == expected and n == counted_chapters(excluded=True) and listed == 1, seen

        await self.until(_("the rollup to show the corrected totals"), published)
        _status, doc = await self.get(self.rollup)
        self.detail(_("rollup {url}").format(url=self.rollup))
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
            reason = lines[0] if lines else (err.strip().splitlines() or [_("no output")])[-1]
            raise DemoError(
                N_("`chapterhouse verify {rollup}` did not verify: {reason}"),
                rollup=self.rollup,
                reason=reason,
            )

    # -- the end --------------------------------------------------------------------------

    def print_urls(self) -> None:
        """Where to look once the day is played (``signins.closing_lines``)."""
        for line in closing_lines(self):
            self.say(line)
