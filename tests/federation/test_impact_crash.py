"""A campaign's node killed with SIGKILL in the middle of 200 incoming impact reports, then
restarted, ends with exact totals: no acknowledged report is lost, none is counted twice.

The campaign's node is a real ``chapterhouse serve`` process. Twenty member chapters are played
by a :class:`HostileServer` (real RSA keys, signed requests); each joins the campaign by a
signed ``Follow`` and sends one report on each of its ten calls (values 1..200, so the exact
sum is 20100). The node holds none of the chapters' calls, so every report waits for its call
to be fetched (a ``report_call`` follow-up: the chapters' server answers each fetch slowly, so a
backlog builds up) before it counts. The node is killed once 80 reports have been
acknowledged, which leaves acknowledged reports that are not counted yet (checked in the
database right after the kill), and requests in flight that got no answer (some of them
possibly stored anyway). After a restart the chapters do what honest senders do: re-send every
report that was not acknowledged until it is, and a few acknowledged ones are replayed too (the
same activity again, and the same report in a new activity).

It fails if the node loses anything it acknowledged or that was left to do: e.g. follow-ups
kept in memory only (the reports waiting for their call at the kill would never count), an
inbox that answered 202 before its commit, a follow-up leased by the dead process and never
claimed again. It fails if anything is counted twice: replays, a report stored before the kill
and re-sent after it, or a follow-up run twice (once before the kill, again after its lease
expired) adding its report again. (Deleting the pending follow-ups from the database at the
kill, as a memory-only queue would lose them, makes it fail with some 50 reports never counted.)

Like the other process tests (``test_delivery_crash.py``) the node runs on the SQLite file in
its data directory, which the test reads directly.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import orjson
import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from protocol.activities import build_create, build_follow
from protocol.events import ActionCall, build_event
from protocol.impact import ImpactReport, Measure, build_report
from storage.engine import open_database, sqlite_url
from storage.models import Contribution, Follow, FollowUp, InboxItem
from storage.repositories.impact import decode_values
from tests.rig.api import call_api
from tests.rig.hostile import AP, HostileServer, send
from tests.rig.nodes import NodeProcess, acli, cli, eventually, free_port

CHAPTERS = 20
CALLS_PER_CHAPTER = 10  # 200 reports in all, one per (chapter, call)
CAMPAIGN_CALLS = 10
KILL_AFTER = 80  # acknowledged reports before the kill
SENDERS = 8  # reports in flight at once
#: The chapters' server answers each call fetch this slowly until the kill (a backlog builds).
CALL_FETCH_DELAY = 0.05
REPORTS = CHAPTERS * CALLS_PER_CHAPTER
EXPECTED_SUM = REPORTS * (REPORTS + 1) // 2  # values 1..200

TIMEOUT = aiohttp.ClientTimeout(total=20)  # no request waits for ever
T = TypeVar("T")


@dataclass(frozen=True)
class Outgoing:
    """One report, wrapped in its Create, as its chapter sends it."""

    index: int
    chapter: str  # the chapter's name on the hostile server
    report_id: str
    value: int
    activity: dict[str, Any]


@pytest.fixture
def campaign_node(tmp_path: Path) -> Iterator[NodeProcess]:
    node = NodeProcess(
        tmp_path / "campaign",
        free_port(),
        env={
            # A follow-up the dead process had leased is claimed again soon after the restart.
            "CHAPTERHOUSE_FOLLOW_UP_TIMEOUT_SECONDS": "5",
            "CHAPTERHOUSE_FOLLOW_UP_LEASE_SECONDS": "6",
            "CHAPTERHOUSE_FOLLOW_UP_RETRY_BASE_SECONDS": "1",
        },
    )
    yield node
    node.stop(signal.SIGKILL)


@pytest.fixture
async def chapters() -> AsyncIterator[HostileServer]:
    server = await HostileServer().start()
    yield server
    await server.stop()


async def _read(node: NodeProcess, query: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Read the node's own SQLite file (while it runs, or after it was killed)."""
    db = open_database(sqlite_url(str(node.data_dir / "chapterhouse.db")))
    try:
        async with db.read() as session:
            return await query(session)
    finally:
        await db.dispose()


async def _state(session: AsyncSession) -> dict[str, Any]:
    """What the node has counted, and what it still has to do."""
    contributions = {
        report: (values, retracted, excluded)
        for report, values, retracted, excluded in (
            await session.execute(
                select(
                    Contribution.report,
                    Contribution.values,
                    Contribution.retracted,
                    Contribution.excluded,
                )
            )
        ).all()
    }
    rows = int(await session.scalar(select(func.count()).select_from(Contribution)) or 0)
    follow_ups = dict(
        (
            await session.execute(
                select(FollowUp.state, func.count())
                .where(FollowUp.kind == "report_call")
                .group_by(FollowUp.state)
            )
        ).all()
    )
    inbox = dict(
        (
            await session.execute(
                select(InboxItem.state, func.count())
                .where(InboxItem.activity_type == "Create")
                .group_by(InboxItem.state)
            )
        ).all()
    )
    return {
        "contributions": contributions,
        "contribution_rows": rows,
        "follow_ups": follow_ups,
        "inbox": inbox,
    }


def _call_path(chapter: str, i: int, j: int) -> str:
    """A ULID-like call id at the chapter's origin (26 Crockford base32 characters)."""
    return f"/actors/{chapter}/actions/" + f"01HZC{i:03d}{j:03d}".ljust(26, "0")


def _serve_call(
    server: HostileServer, path: str, doc: dict[str, object], pace: dict[str, float]
) -> None:
    """Serve a call document, each answer ``pace["seconds"]`` late."""
    body = orjson.dumps(doc)

    async def respond(_: web.Request) -> web.StreamResponse:
        await asyncio.sleep(pace["seconds"])
        return web.Response(body=body, content_type=AP)

    server.serve(path, respond)


async def _post(
    server: HostileServer, session: aiohttp.ClientSession, url: str, item: Outgoing
) -> int | None:
    """POST one report signed as its chapter; the status, or None when nothing answered."""
    body = orjson.dumps(item.activity)
    headers = server.signed_headers(url, body, as_actor=item.chapter)
    try:
        return (await send(url, body, headers, session=session)).status
    except (TimeoutError, aiohttp.ClientError, OSError):
        return None


async def test_sigkill_amid_200_reports_then_restart_gives_exact_totals(
    campaign_node: NodeProcess, chapters: HostileServer
) -> None:
    node, server = campaign_node, chapters
    now = datetime.now(UTC).replace(microsecond=0)
    started = now - timedelta(hours=1)  # every call has started: its reports are taken
    ends = now + timedelta(hours=2)
    data = str(node.data_dir)
    node.init()
    campaign = cli("campaign", "create", "climate", "--data", data).stdout.strip()
    added = cli(
        "member", "add", "olga", "--data", data, "--chapter", "climate", "--role", "organiser"
    ).stdout.splitlines()
    token = added[1].removeprefix("token: ")
    await asyncio.to_thread(node.start)

    # The campaign's calls, by its organiser (over the JSON API: ten CLI runs cost seconds each).
    campaign_calls = []
    for k in range(CAMPAIGN_CALLS):
        status, call = await call_api(
            node.base_url,
            token,
            "POST",
            "/api/v1/chapters/climate/actions",
            {
                "title": f"Climate day of action {k}",
                "start": started.isoformat(),
                "end": ends.isoformat(),
            },
        )
        assert status == 201, call
        campaign_calls.append(call["id"])

    # Twenty chapters join the campaign by following it.
    names = [f"ch{i:02d}" for i in range(CHAPTERS)]
    for name in names:
        server.add_actor(name, kind="Group")
    inbox = f"{node.base_url}/inbox"
    joined = await asyncio.gather(
        *(
            server.post(
                inbox,
                build_follow(server.activity_id("follow"), server.actor_id(name), campaign),
                as_actor=name,
            )
            for name in names
        )
    )
    assert [r.status for r in joined] == [202] * CHAPTERS, [r.problem for r in joined]

    async def members(session: AsyncSession) -> int:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(Follow)
                .where(Follow.target == campaign, Follow.state == "accepted")
                .where(Follow.follower.in_([server.actor_id(name) for name in names]))
            )
            or 0
        )

    async def all_joined() -> bool:
        return await _read(node, members) == CHAPTERS

    await eventually(all_joined, timeout=30, interval=0.1, what="every chapter to be a member")

    # Each chapter's ten calls (adopting the campaign's), and one report on each.
    outgoing: list[Outgoing] = []
    pace = {"seconds": CALL_FETCH_DELAY}
    for i, name in enumerate(names):
        chapter = server.actor_id(name)
        for j in range(CALLS_PER_CHAPTER):
            call_path = _call_path(name, i, j)
            call_id = server.url(call_path)
            _serve_call(
                server,
                call_path,
                build_event(
                    ActionCall(
                        id=call_id,
                        chapter=chapter,
                        title=f"{name} action {j}",
                        start=started,
                        end=ends,
                        published=started - timedelta(days=7),
                        campaign=campaign_calls[(i + j) % CAMPAIGN_CALLS],
                    )
                ),
                pace,
            )
            index = i * CALLS_PER_CHAPTER + j
            value = index + 1
            report_id = server.url(f"/actors/{name}/reports/{j}")
            doc = build_report(
                ImpactReport(
                    id=report_id,
                    chapter=chapter,
                    call=call_id,
                    measures=(Measure("participants", "people", Decimal(value)),),
                    published=now - timedelta(minutes=1),
                    content=f"{value} people came",
                )
            )
            activity = build_create(server.activity_id("report"), chapter, doc)
            outgoing.append(Outgoing(index, name, report_id, value, activity))
    assert len({o.report_id for o in outgoing}) == REPORTS
    assert sum(o.value for o in outgoing) == EXPECTED_SUM

    # 200 reports at once, eight in flight; the node dies once 80 are acknowledged.
    acknowledged: set[int] = set()
    answers: dict[int, int | None] = {}
    gate = asyncio.Semaphore(SENDERS)
    killed = asyncio.Event()

    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:

        async def deliver(item: Outgoing) -> None:
            async with gate:
                if killed.is_set():
                    answers[item.index] = None  # nobody listens any more
                    return
                status = await _post(server, session, inbox, item)
            answers[item.index] = status
            if status == 202:
                acknowledged.add(item.index)

        sending = [asyncio.create_task(deliver(item)) for item in outgoing]

        async def enough_acknowledged() -> bool:
            return len(acknowledged) >= KILL_AFTER or all(t.done() for t in sending)

        await eventually(
            enough_acknowledged, timeout=30, interval=0.002, what="80 reports acknowledged"
        )
        node.stop(signal.SIGKILL)
        killed.set()
        pace["seconds"] = 0.0  # from now on only the node's own pace matters
        acknowledged_at_kill = len(acknowledged)
        await asyncio.wait_for(asyncio.gather(*sending), 30)
    unexpected = {i: s for i, s in answers.items() if s not in (202, None)}
    assert not unexpected, f"reports refused before the kill: {unexpected}"
    unanswered = sorted(set(range(REPORTS)) - acknowledged)
    assert unanswered, "every report was acknowledged before the kill; the test proved nothing"

    at_kill = await _read(node, _state)
    counted_at_kill = len(at_kill["contributions"])
    assert counted_at_kill < len(acknowledged), (
        f"all {len(acknowledged)} acknowledged reports were counted before the kill "
        f"(follow-ups {at_kill['follow_ups']}, inbox {at_kill['inbox']}); the crash hit nothing "
        "in progress"
    )
    # Everything acknowledged is on disk: counted, or waiting (inbox item or follow-up).
    waiting = at_kill["follow_ups"].get("pending", 0) + at_kill["inbox"].get("received", 0)
    assert counted_at_kill + waiting >= len(acknowledged), (
        f"{len(acknowledged)} reports were acknowledged but only {counted_at_kill} are counted "
        f"and {waiting} wait on disk: {at_kill['follow_ups']}, inbox {at_kill['inbox']}"
    )

    await asyncio.to_thread(node.start)

    # Honest senders: everything not acknowledged is sent again until it is...
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        resend = [outgoing[i] for i in unanswered]
        for attempt in range(20):
            statuses = await asyncio.gather(*(_post(server, session, inbox, o) for o in resend))
            refused = {o.index: s for o, s in zip(resend, statuses, strict=True) if s != 202}
            bad = {i: s for i, s in refused.items() if s is not None and s != 429 and s < 500}
            assert not bad, f"re-sent reports refused after the restart: {bad}"
            resend = [o for o in resend if o.index in refused]
            if not resend:
                break
            await asyncio.sleep(0.25 * (attempt + 1))
        assert not resend, f"{len(resend)} reports never acknowledged after the restart"

        # ...and some acknowledged ones come again: the same activity, and a new activity
        # carrying the same report.
        replayed = sorted(acknowledged)[:5]
        for i in replayed:
            assert await _post(server, session, inbox, outgoing[i]) == 202
            item = outgoing[i]
            again = build_create(
                server.activity_id("again"),
                server.actor_id(item.chapter),
                item.activity["object"],
            )
            again_item = Outgoing(i, item.chapter, item.report_id, item.value, again)
            assert await _post(server, session, inbox, again_item) == 202

    # Nothing left to do: no stored activity unhandled, no follow-up pending (nor leased by the
    # dead process). Each step commits what it counted before it is marked done, so this is
    # the point where every report must have counted.
    last: dict[str, Any] = {}

    async def idle() -> bool:
        last.update(await _read(node, _state))
        return not last["follow_ups"].get("pending") and not last["inbox"].get("received")

    await eventually(idle, timeout=60, interval=0.2, what="the node to finish its work")
    final = last
    expected = {o.report_id for o in outgoing}
    missing = sorted(expected - set(final["contributions"]))
    assert not missing, (
        f"{len(missing)} reports never counted (e.g. {missing[:3]}); follow-ups "
        f"{final['follow_ups']}, inbox {final['inbox']}; at the kill {acknowledged_at_kill} were "
        f"acknowledged and {counted_at_kill} counted"
    )
    # Exactly one live contribution per report, holding exactly that report's value.
    assert final["contribution_rows"] == REPORTS
    by_report = {o.report_id: o.value for o in outgoing}
    for report, (values, retracted, excluded) in final["contributions"].items():
        assert not retracted and excluded is None, report
        assert decode_values(values) == {("participants", "people"): Decimal(by_report[report])}
    assert not final["follow_ups"].get("dead"), final["follow_ups"]

    # The campaign's running totals, as its organiser reads them.
    totals = json.loads((await acli("totals", "climate", "--data", data, "--json")).stdout)
    assert totals["chapterCount"] == CHAPTERS
    assert [(t["metric"], t["unit"], Decimal(str(t["value"]))) for t in totals["totals"]] == [
        ("participants", "people", Decimal(EXPECTED_SUM))
    ], totals
