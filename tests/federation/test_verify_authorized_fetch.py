"""`verify` against chapters that answer only signed fetches (authorized fetch).

Anonymous verification cannot read their reports; verifying as a node (the CLI's ``--data``, or
the campaign page's "verify these numbers") signs every fetch with the node's instance actor.
"""

from __future__ import annotations

import json

import aiohttp
from sqlalchemy import select

from node.features.actors.local import create_actor
from node.features.calls.lifecycle import adopt_action
from node.features.impact.reports import create_report, parse_metric_args
from storage.models import ActionCall, CampaignState
from tests.federation.conftest import follow_and_wait
from tests.federation.test_campaigns import CALL, principal
from tests.rig.api import call_api
from tests.rig.nodes import acli, eventually


async def test_verify_signs_its_fetches_when_run_as_a_node(nodes):
    hub = await nodes(rollup_interval_seconds=0.2, authorized_fetch=True)
    campaign = (await create_actor(hub.services, "climate", "campaign")).actor
    cora = await hub.member("cora", role="organiser", chapter="climate")
    chapters = []
    for i in range(2):
        node = await nodes(authorized_fetch=True)
        await node.chapter(f"c{i}")
        await node.member(f"o{i}", role="organiser", chapter=f"c{i}")
        await follow_and_wait(node, f"c{i}", campaign.ap_id)
        chapters.append(node)
    status, call = await call_api(
        hub.base_url, cora.token, "POST", "/api/v1/chapters/climate/actions", CALL
    )
    assert status == 201, call

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
        await create_report(
            node.services,
            organiser,
            local.ap_id,
            parse_metric_args([f"participants={10 + i}:people"], "counted"),
            None,
        )

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
    rollup = f"{campaign.ap_id}/rollup"

    anonymous = await acli("verify", rollup, "--allow-private-network", "--json", check=False)
    # The chapters refuse unsigned fetches: that is "could not check" (3), never a mismatch.
    assert anonymous.returncode == 3, anonymous.stdout + anonymous.stderr
    assert json.loads(anonymous.stdout)["verdict"] == "unverifiable"
    assert "401" in anonymous.stdout

    as_node = await acli("verify", rollup, "--data", str(hub.data_dir), "--json", env=hub.cli_env)
    verdict = json.loads(as_node.stdout)
    assert verdict["verdict"] == "verified" and verdict["checked"] == 2, verdict

    async def page_says_verified() -> bool:  # checked in the background after the first visit
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{hub.base_url}/actors/climate/verify", headers={"Accept": "text/html"}
            ) as resp,
        ):
            assert resp.status == 200
            return "Verified: every number checks out" in await resp.text()

    await eventually(page_says_verified, what="the verify page to show the stored verdict")
