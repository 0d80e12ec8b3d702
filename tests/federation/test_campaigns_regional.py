"""Regional → global: a campaign counts another campaign's rollup without counting any chapter
report twice, even when the report also reaches it directly; also when the rollup links to its
sources in pages instead of listing them (a campaign with many reports)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from node.features.actors.local import create_actor
from node.features.calls.lifecycle import adopt_action, create_action
from node.features.impact.campaigns import campaign_totals
from node.features.impact.reports import create_report, parse_metric_args
from node.features.impact.verify import verify_rollup
from node.federation.transport import FetchError
from storage.models import ActionCall, Contribution
from tests.federation.conftest import follow_and_wait
from tests.federation.test_campaigns import principal
from tests.rig.nodes import Node, eventually

CALL = {
    "title": "Global day of action",
    "start": "2026-11-14T10:00:00+00:00",
    "end": "2026-11-14T16:00:00+00:00",
}


async def _has_call(node: Node, call_id: str) -> bool:
    async with node.services.db.read() as session:
        return (
            await session.scalar(select(ActionCall).where(ActionCall.ap_id == call_id)) is not None
        )


async def _wait_call(node: Node, call_id: str, what: str) -> None:
    async def check() -> bool:
        return await _has_call(node, call_id)

    await eventually(check, what=what)


async def _totals(node: Node, name: str) -> dict:
    result = await campaign_totals(node.services, name)
    return {(t["metric"], t["unit"]): t["value"] for t in result.totals}


@pytest.mark.parametrize("inline_sources", [1000, 1], ids=["inline", "paged"])
async def test_global_campaign_counts_regional_rollup_without_double_counting(
    nodes, inline_sources
):
    hub_g = await nodes(rollup_interval_seconds=0.2)
    hub_r = await nodes(rollup_interval_seconds=0.2, rollup_inline_sources=inline_sources)
    node_x, node_y = await nodes(), await nodes()
    g = (await create_actor(hub_g.services, "world", "campaign")).actor
    r = (await create_actor(hub_r.services, "europe", "campaign")).actor
    await hub_g.member("gina", role="organiser", chapter="world")
    await hub_r.member("rene", role="organiser", chapter="europe")
    x = (await node_x.chapter("paris")).actor
    y = (await node_y.chapter("lyon")).actor
    await node_x.member("xavier", role="organiser", chapter="paris")
    await node_y.member("yves", role="organiser", chapter="lyon")

    await follow_and_wait(hub_r, "europe", g.ap_id)  # the region joins the world campaign
    await follow_and_wait(node_x, "paris", r.ap_id)  # paris joins the region...
    await follow_and_wait(node_x, "paris", g.ap_id)  # ...and the world campaign directly too
    await follow_and_wait(node_y, "lyon", r.ap_id)  # lyon only joins the region

    global_call = await create_action(hub_g.services, await principal(hub_g, "gina"), "world", CALL)
    await _wait_call(hub_r, global_call.ap_id, "the global call to reach the region")
    regional_call = await adopt_action(
        hub_r.services, await principal(hub_r, "rene"), global_call.ap_id, "europe"
    )
    await _wait_call(node_x, regional_call.ap_id, "the regional call to reach paris")
    await _wait_call(node_y, regional_call.ap_id, "the regional call to reach lyon")
    await _wait_call(hub_g, regional_call.ap_id, "the regional call to reach the world hub")
    x_call = await adopt_action(
        node_x.services, await principal(node_x, "xavier"), regional_call.ap_id, "paris"
    )
    y_call = await adopt_action(
        node_y.services, await principal(node_y, "yves"), regional_call.ap_id, "lyon"
    )
    await _wait_call(hub_g, x_call.ap_id, "paris's call to reach the world hub")

    await create_report(
        node_x.services,
        await principal(node_x, "xavier"),
        x_call.ap_id,
        parse_metric_args(["participants=30:people"], "counted"),
        None,
    )
    await create_report(
        node_y.services,
        await principal(node_y, "yves"),
        y_call.ap_id,
        parse_metric_args(["participants=12:people"], "estimated"),
        None,
    )

    async def region_counts_both() -> bool:
        return await _totals(hub_r, "europe") == {("participants", "people"): 42}

    await eventually(region_counts_both, what="the region to count both chapters")

    async def world_counts_both_once() -> bool:
        return await _totals(hub_g, "world") == {("participants", "people"): 42}

    await eventually(
        world_counts_both_once,
        timeout=20,
        what="the world campaign to count paris (direct) and lyon (via the regional rollup)",
    )
    async with hub_g.services.db.read() as session:
        rows = list(
            await session.scalars(select(Contribution).where(Contribution.retracted.is_(False)))
        )
    by_chapter = {row.chapter: row.via for row in rows}
    assert len(rows) == 2  # each report counted once
    assert by_chapter[x.ap_id] == x.ap_id  # paris's report came directly
    assert by_chapter[y.ap_id] == f"{r.ap_id}/rollup"  # lyon's only inside the regional rollup
    assert (await campaign_totals(hub_g.services, "world")).chapter_count == 2

    # The region's rollup as published: its sources listed, or (paged) linked and pinned by
    # digest; the world hub walked the pages to count lyon. Anyone can verify it either way.
    rollup_url = f"{r.ap_id}/rollup"
    sources = (await hub_g.services.transport.get_json(rollup_url)).document["chapterhouse:sources"]
    assert isinstance(sources, dict if inline_sources == 1 else list)
    verdict = await verify_rollup(
        rollup_url,
        allow_private_network=True,
        transport=hub_g.services.transport,
        signer=await hub_g.services.fetch_signer(),
        clock=hub_g.services.clock,
    )
    assert (verdict.ok, verdict.sources, verdict.checked) == (True, 2, 2), verdict.as_json()
    if inline_sources == 1:  # two pages of one source; a page that is not there is said so
        for page, status in (("0", 400), ("x", 400), ("3", 404)):
            with pytest.raises(FetchError) as refused:
                await hub_g.services.transport.get_json(f"{rollup_url}/sources?page={page}")
            assert refused.value.status == status
