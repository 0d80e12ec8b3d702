"""The campaign's "verify these numbers" page serves a stored verdict: page views fetch nothing,
and each rollup version is checked once, in the background (a ``verify_rollup`` follow-up).

Real nodes on loopback: a campaign hub and two chapter nodes that publish signed reports; the
chapter nodes record every request they answer, so the test counts fetches of the reports.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy import func, select

from node.features.actors.local import create_actor
from node.features.calls.lifecycle import adopt_action
from node.features.impact.reports import create_report, parse_metric_args
from node.features.impact.rollups import publish_rollup
from node.features.impact.verifications import VERIFY_ROLLUP
from storage.models import ActionCall, CampaignState, FollowUp, RollupVerification
from tests.federation.conftest import follow_and_wait
from tests.federation.test_campaigns import CALL, principal
from tests.rig.api import call_api
from tests.rig.nodes import Node, eventually

VISITS = 5


async def _campaign_with_two_reports(nodes) -> tuple[Node, list[Node], list[str], int]:
    hub = await nodes(rollup_interval_seconds=0.2)
    campaign = (await create_actor(hub.services, "climate", "campaign")).actor
    cora = await hub.member("cora", role="organiser", chapter="climate")
    chapters = []
    for i in range(2):
        node = await nodes()
        await node.chapter(f"c{i}")
        await node.member(f"o{i}", role="organiser", chapter=f"c{i}")
        await follow_and_wait(node, f"c{i}", campaign.ap_id)
        chapters.append(node)
    status, call = await call_api(
        hub.base_url, cora.token, "POST", "/api/v1/chapters/climate/actions", CALL
    )
    assert status == 201, call
    reports = []
    for i, node in enumerate(chapters):

        async def has_call(node=node) -> bool:
            async with node.services.db.read() as session:
                row = await session.scalar(select(ActionCall).where(ActionCall.ap_id == call["id"]))
            return row is not None

        await eventually(has_call, what=f"the campaign's call to reach c{i}")
        organiser = await principal(node, f"o{i}")
        local = await adopt_action(node.services, organiser, call["id"], f"c{i}")

        async def hub_has(local_id=local.ap_id) -> bool:
            async with hub.services.db.read() as session:
                row = await session.scalar(select(ActionCall).where(ActionCall.ap_id == local_id))
            return row is not None

        await eventually(hub_has, what=f"c{i}'s adopted call to reach the campaign")
        row = await create_report(
            node.services,
            organiser,
            local.ap_id,
            parse_metric_args([f"participants={10 + i}:people"], "counted"),
            None,
        )
        reports.append(row.ap_id)

    async def rollup_counts_both() -> bool:
        async with hub.services.db.read() as session:
            state = await session.scalar(select(CampaignState))
        return (
            state is not None
            and state.rollup_document is not None
            and len(state.rollup_document["chapterhouse:sources"]) == 2
            and not state.dirty
        )

    await eventually(rollup_counts_both, what="a rollup counting both reports")
    return hub, chapters, reports, campaign.id


def _report_fetches(chapters: list[Node], reports: list[str]) -> dict[str, int]:
    """GETs of each report answered by the chapter nodes (the sources)."""
    paths = {urlsplit(r).path: r for r in reports}
    counts = dict.fromkeys(reports, 0)
    for node in chapters:
        for hit in node.hits:
            if hit.method == "GET" and hit.path in paths:
                counts[paths[hit.path]] += 1
    return counts


async def _visit(url: str, accept: str = "text/html") -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers={"Accept": accept}) as resp,
    ):
        return resp.status, await resp.text()


async def _rows(hub: Node) -> list[RollupVerification]:
    async with hub.services.db.read() as session:
        return list(await session.scalars(select(RollupVerification).order_by("id")))


async def _jobs(hub: Node) -> int:
    async with hub.services.db.read() as session:
        return await session.scalar(
            select(func.count()).select_from(FollowUp).where(FollowUp.kind == VERIFY_ROLLUP)
        )


async def _wait_done(hub: Node, versions: int) -> None:
    async def done() -> bool:
        rows = await _rows(hub)
        return len(rows) == versions and all(r.state == "done" for r in rows)

    await eventually(done, what=f"{versions} stored verification(s)")


async def test_page_views_fetch_nothing_and_each_rollup_version_is_checked_once(nodes):
    hub, chapters, reports, campaign_id = await _campaign_with_two_reports(nodes)
    page = f"{hub.base_url}/actors/climate/verify"
    before = _report_fetches(chapters, reports)
    await hub.chapter("greenpark")
    await create_actor(hub.services, "quiet", "campaign")
    for name in ("greenpark", "quiet", "nobody"):  # no rollup (a chapter, a quiet campaign)
        status, _ = await _visit(f"{hub.base_url}/actors/{name}/verify", accept="application/json")
        assert status == 404, name
    assert await _rows(hub) == [] and await _jobs(hub) == 0

    visits = [await _visit(page) for _ in range(VISITS)]
    assert all(status == 200 for status, _ in visits)
    # The first visit does not wait for a check: it asks for one, in the background.
    assert "Verification in progress" in visits[0][1]
    assert "Reload in a minute" in visits[0][1]

    await _wait_done(hub, 1)
    assert await _jobs(hub) == 1  # one background verification for this version
    fetched = _report_fetches(chapters, reports)
    assert {r: fetched[r] - before[r] for r in reports} == dict.fromkeys(reports, 1)

    status, html = await _visit(page)
    assert status == 200 and "Verified: every number checks out" in html
    status, body = await _visit(page, accept="application/json")
    assert status == 200
    served = json.loads(body)
    assert served["state"] == "done"
    assert served["current"]["result"]["verdict"] == "verified"
    assert served["current"]["result"]["checked"] == 2
    rows = await _rows(hub)
    assert served["version"] == rows[0].version and len(rows[0].version) <= 128

    # More visits to the same version read the stored verdict: no fetch at all.
    for _ in range(VISITS):
        assert (await _visit(page))[0] == 200
    assert _report_fetches(chapters, reports) == fetched

    # A new rollup version is checked once more; meanwhile the last verdict is shown, labelled.
    assert await publish_rollup(hub.services, campaign_id)
    visits = [await _visit(page) for _ in range(VISITS)]
    assert "Verification in progress" in visits[0][1]
    assert "Last completed check" in visits[0][1] and rows[0].version[:16] in visits[0][1]
    await _wait_done(hub, 2)
    assert await _jobs(hub) == 2
    again = _report_fetches(chapters, reports)
    assert {r: again[r] - fetched[r] for r in reports} == dict.fromkeys(reports, 1)
    assert "Verified: every number checks out" in (await _visit(page))[1]
