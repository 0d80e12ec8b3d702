"""Numbers a movement can trust: only members count, exclusions are published, a blocked
chapter's retraction still gets in, and units add up exactly."""

# ruff: noqa: F401, F811 - the ``campaign`` fixture is imported from test_campaigns

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest
from sqlalchemy import select

from node.features.calls.input import FieldError
from node.features.calls.lifecycle import create_action
from node.features.impact.exclusions import exclude, include
from node.features.impact.reports import create_report, parse_metric_args, retract_own_report
from node.features.moderation.blocks import block_actor
from protocol.activities import build_create
from protocol.impact import ImpactReport, Measure, build_report
from protocol.jsonld import CONTEXT
from storage.models import ActionCall, CampaignState, Contribution, InboxItem
from storage.repositories import actors as actor_repo
from tests.federation.test_campaigns import (
    Campaign,
    campaign,
    principal,
    report,
    totals,
    wait_totals,
)
from tests.rig.hostile import HostileServer
from tests.rig.nodes import Node, acli, eventually
from tests.rig.signing import post, signed_post_headers


async def _processed(hub: Node, activity_id: str) -> None:
    async def done() -> bool:
        async with hub.services.db.read() as session:
            item = await session.scalar(
                select(InboxItem).where(InboxItem.activity_id == activity_id)
            )
        return item is not None and item.state != "received"

    await eventually(done, what=f"the hub to handle {activity_id}")


async def _rollup_settled(c: Campaign, check) -> dict:
    """The published rollup, once it satisfies ``check`` and no change is pending."""
    found: dict = {}

    async def ready() -> bool:
        async with c.hub.services.db.read() as session:
            state = await session.scalar(select(CampaignState))
        if state is None or state.dirty or state.rollup_document is None:
            return False
        found.update(state.rollup_document)
        return bool(check(state.rollup_document))

    await eventually(ready, what="the rollup to settle")
    return found


async def _verify(c: Campaign) -> tuple[int, dict]:
    result = await acli(
        "verify", f"{c.campaign_id}/rollup", "--allow-private-network", "--json", check=False
    )
    return result.returncode, json.loads(result.stdout)


async def test_a_strangers_call_and_reports_move_no_totals_and_are_never_fetched(campaign):
    c = campaign
    await report(c, 0, "participants=5:people")
    await wait_totals(c.hub, {("participants", "people"): 5}, "the member's report")
    mallory = await HostileServer().start()
    try:
        for kind in ("Person", "Group"):  # a stranger, and a chapter that never joined
            name = f"m{kind.lower()}"
            actor = mallory.add_actor(name, kind=kind)
            call_id = mallory.url(f"/actors/{name}/actions/01JX0000000000000000000000")
            mallory.serve_json(
                call_id.removeprefix(mallory.base_url),
                {
                    "@context": CONTEXT,
                    "id": call_id,
                    "type": "Event",
                    "name": "Totally real clean-up",
                    "attributedTo": actor["id"],
                    "startTime": "2026-01-01T10:00:00Z",
                    "endTime": "2026-01-01T12:00:00Z",
                    "chapterhouse:campaign": c.call_id,
                },
            )
            fake = ImpactReport(
                id=mallory.url(f"/actors/{name}/reports/1"),
                chapter=actor["id"],
                call=call_id,
                measures=(Measure("participants", "people", Decimal("1000000000000000")),),
                published=datetime.now(UTC) - timedelta(minutes=1),
            )
            create = build_create(mallory.activity_id(), actor["id"], build_report(fake))
            reply = await mallory.post(f"{c.hub.base_url}/inbox", create, as_actor=name)
            assert reply.status == 202, reply.detail
            await _processed(c.hub, create["id"])
        await asyncio.sleep(0.5)
        assert await totals(c.hub) == {("participants", "people"): 5}
        assert not [s for s in mallory.gets() if "/actions/" in s]  # no call was fetched
        async with c.hub.services.db.read() as session:
            counted = list(await session.scalars(select(Contribution.chapter)))
        assert all(mallory.base_url not in chapter for chapter in counted)
    finally:
        await mallory.stop()


async def test_a_second_report_on_the_same_call_replaces_the_first(campaign):
    c = campaign
    first = await report(c, 0, "participants=10:people", "kg_litter=5:kg")
    await wait_totals(
        c.hub, {("participants", "people"): 10, ("kg_litter", "kg"): 5}, "the first report"
    )
    node = c.chapters[0]
    async with node.services.db.read() as session:
        chapter = await actor_repo.local_actor_by_name(session, "c0")
    second = ImpactReport(
        id=f"{chapter.ap_id}/reports/01JX0000000000000000000002",
        chapter=chapter.ap_id,
        call=c.local_calls[0],
        measures=(Measure("participants", "people", Decimal(12)),),
        published=datetime.now(UTC) + timedelta(seconds=1),
    )
    create = build_create(f"{node.base_url}/activities/second", chapter.ap_id, build_report(second))
    body = orjson.dumps(create)
    signer = node.services.keys.rsa_signer(chapter)
    inbox = f"{c.hub.base_url}/inbox"
    status, _ = await post(
        inbox, body, signed_post_headers(inbox, body, key_id=signer.key_id, key=signer.private_key)
    )
    assert status == 202
    await wait_totals(
        c.hub,
        {("participants", "people"): 12},  # the first report's 5 kg went with it
        "the second report to replace the first",
    )
    async with c.hub.services.db.read() as session:
        live = list(
            await session.scalars(
                select(Contribution.report).where(Contribution.retracted.is_(False))
            )
        )
    assert live == [second.id] and first not in live


async def test_an_exclusion_is_published_and_verify_passes_listing_it(campaign):
    c = campaign
    ids = [await report(c, i, f"participants={i + 1}:people") for i in range(3)]
    await wait_totals(c.hub, {("participants", "people"): 6}, "three reports")
    cora = await principal(c.hub, "cora")
    moved = await exclude(c.hub.services, cora, "climate", ids[1], "counted twice on paper")
    assert moved == 1
    await wait_totals(c.hub, {("participants", "people"): 4}, "the exclusion")
    rollup = await _rollup_settled(c, lambda doc: doc.get("chapterhouse:exclusions"))
    assert [e["report"] for e in rollup["chapterhouse:exclusions"]] == [ids[1]]
    assert rollup["chapterhouse:exclusions"][0]["reason"] == "counted twice on paper"
    assert ids[1] not in [s["report"] for s in rollup["chapterhouse:sources"]]
    code, verdict = await _verify(c)
    assert code == 0, verdict
    assert verdict["verdict"] == "verified" and verdict["checked"] == 2
    assert [e["report"] for e in verdict["excluded"]] == [ids[1]]

    await include(c.hub.services, cora, "climate", ids[1])
    await wait_totals(c.hub, {("participants", "people"): 6}, "the report counted again")


async def test_a_blocked_chapter_is_excluded_and_its_retraction_still_gets_in(campaign):
    c = campaign
    ids = [await report(c, i, f"participants={10 + i}:people") for i in range(3)]
    await wait_totals(c.hub, {("participants", "people"): 33}, "three reports")
    blocked = c.chapters[2].services.ids.actor("c2")
    await block_actor(c.hub.services, blocked, "spam")
    await wait_totals(c.hub, {("participants", "people"): 21}, "the block to exclude c2")
    await retract_own_report(c.chapters[2].services, c.organisers[2], ids[2])

    async def retracted_at_the_hub() -> bool:
        async with c.hub.services.db.read() as session:
            row = await session.scalar(select(Contribution).where(Contribution.report == ids[2]))
        return row is not None and row.retracted

    await eventually(retracted_at_the_hub, what="the blocked chapter's retraction to get in")
    await _rollup_settled(c, lambda doc: len(doc["chapterhouse:sources"]) == 2)
    code, verdict = await _verify(c)
    assert code == 0, verdict
    assert verdict["verdict"] == "verified"


async def test_grams_and_kilograms_add_up_exactly_and_odd_units_are_listed(campaign):
    c = campaign
    await report(c, 0, "kg_litter=500:g")
    await report(c, 1, "kg_litter=0.07:kg", "participants=4:persons")
    odd = await report(c, 2, "kg_litter=3:bags", "participants=2:people")
    await wait_totals(
        c.hub,
        {("kg_litter", "kg"): 0.57, ("participants", "people"): 6},
        "g and kg in kg, persons as people, bags left out",
    )
    rollup = await _rollup_settled(c, lambda doc: doc.get("chapterhouse:exclusions"))
    assert rollup["chapterhouse:exclusions"][0]["report"] == odd
    assert rollup["chapterhouse:exclusions"][0]["reason"] == "unit"
    assert rollup["chapterhouse:exclusions"][0]["unit"] == "bags"
    code, verdict = await _verify(c)
    assert code == 0, verdict
    assert verdict["excluded"][0]["reason"] == "unit"


async def test_a_report_before_its_call_starts_is_refused_here_and_over_federation(campaign):
    c = campaign
    node, organiser = c.chapters[0], c.organisers[0]
    soon = datetime.now(UTC) + timedelta(days=3)
    future = await create_action(
        node.services,
        organiser,
        "c0",
        {
            "title": "Next week",
            "start": soon.isoformat(),
            "end": (soon + timedelta(hours=2)).isoformat(),
        },
    )
    with pytest.raises(FieldError, match="started"):
        await create_report(
            node.services,
            organiser,
            future.ap_id,
            parse_metric_args(["participants=3:people"], "counted"),
            None,
        )

    async def hub_knows_it() -> bool:
        async with c.hub.services.db.read() as session:
            return (
                await session.scalar(select(ActionCall).where(ActionCall.ap_id == future.ap_id))
                is not None
            )

    await eventually(
        hub_knows_it, what="the chapter's new call to reach the campaign (it follows back)"
    )
    async with node.services.db.read() as session:
        chapter = await actor_repo.local_actor_by_name(session, "c0")
    early = ImpactReport(
        id=f"{chapter.ap_id}/reports/01JX0000000000000000000009",
        chapter=chapter.ap_id,
        call=future.ap_id,
        measures=(Measure("participants", "people", Decimal(3)),),
        published=datetime.now(UTC),
    )
    body = orjson.dumps(
        build_create(f"{node.base_url}/activities/early", chapter.ap_id, build_report(early))
    )
    signer = node.services.keys.rsa_signer(chapter)
    inbox = f"{c.hub.base_url}/inbox"
    status, problem = await post(
        inbox, body, signed_post_headers(inbox, body, key_id=signer.key_id, key=signer.private_key)
    )
    assert status == 422 and "report once it has" in problem["detail"], problem
