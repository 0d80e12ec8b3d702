"""A campaign and five chapters: adoption, signed reports, exact rollups, and `verify`."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import orjson
import pytest
from sqlalchemy import select

from node.features.actors.authz import Principal
from node.features.calls.lifecycle import adopt_action
from node.features.impact.campaigns import campaign_totals
from node.features.impact.reports import (
    create_report,
    parse_metric_args,
    retract_own_report,
    update_report,
)
from node.federation.proofs import sign_object
from protocol.activities import build_announce, build_create, build_update
from storage.models import ActionCall, CampaignState, ImpactReport
from tests.federation.conftest import follow_and_wait
from tests.rig.api import call_api
from tests.rig.nodes import Node, acli, eventually
from tests.rig.signing import post, signed_post_headers

CHAPTERS = 5
CALL = {
    "title": "Global day of action",
    "start": "2026-11-14T10:00:00+00:00",
    "end": "2026-11-14T16:00:00+00:00",
    "goal": "Clean every river bank",
    "targets": [{"metric": "kg_litter", "unit": "kg", "target": 1000}],
}


@dataclass
class Campaign:
    hub: Node
    campaign_id: str
    call_id: str
    chapters: list[Node]
    organisers: list[Principal]
    local_calls: list[str]
    hub_token: str


async def principal(node: Node, name: str) -> Principal:
    from node.features.actors.authz import principal_by_name

    async with node.services.db.read() as session:
        return await principal_by_name(session, name)


async def totals(hub: Node) -> dict[tuple[str, str], float]:
    result = await campaign_totals(hub.services, "climate")
    return {(t["metric"], t["unit"]): t["value"] for t in result.totals}


async def wait_totals(hub: Node, expected: dict, what: str) -> None:
    async def check() -> bool:
        return await totals(hub) == expected

    try:
        await eventually(check, what=what)
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}: totals are {await totals(hub)}, expected {expected}"
        ) from None


@pytest.fixture
async def campaign(nodes) -> Campaign:
    hub = await nodes(rollup_interval_seconds=0.2)
    from node.features.actors.local import create_actor

    campaign_actor = (
        await create_actor(hub.services, "climate", "campaign", title="Climate Day")
    ).actor
    cora = await hub.member("cora", role="organiser", chapter="climate")
    chapters, organisers = [], []
    for i in range(CHAPTERS):
        node = await nodes()
        await node.chapter(f"c{i}")
        await node.member(f"o{i}", role="organiser", chapter=f"c{i}")
        chapters.append(node)
        organisers.append(await principal(node, f"o{i}"))
    for i, node in enumerate(chapters):
        await follow_and_wait(node, f"c{i}", campaign_actor.ap_id)  # the chapter joins the campaign
    status, call = await call_api(
        hub.base_url, cora.token, "POST", "/api/v1/chapters/climate/actions", CALL
    )
    assert status == 201, call

    async def everyone_has_the_call() -> bool:
        for node in chapters:
            async with node.services.db.read() as session:
                if (
                    await session.scalar(select(ActionCall).where(ActionCall.ap_id == call["id"]))
                    is None
                ):
                    return False
        return True

    await eventually(everyone_has_the_call, what="the campaign's call to reach every chapter")
    local_calls = []
    for i, node in enumerate(chapters):
        adopted = await adopt_action(node.services, organisers[i], call["id"], f"c{i}")
        local_calls.append(adopted.ap_id)

    async def hub_knows_adopted_calls() -> bool:
        async with hub.services.db.read() as session:
            known = set(await session.scalars(select(ActionCall.ap_id)))
        return set(local_calls) <= known

    await eventually(
        hub_knows_adopted_calls, what="the campaign to receive the adopted calls (it follows back)"
    )
    return Campaign(
        hub, campaign_actor.ap_id, call["id"], chapters, organisers, local_calls, cora.token
    )


async def report(c: Campaign, i: int, *metrics: str) -> str:
    row = await create_report(
        c.chapters[i].services,
        c.organisers[i],
        c.local_calls[i],
        parse_metric_args(list(metrics), "counted"),
        None,
    )
    return row.ap_id


async def test_reports_roll_up_exactly_through_updates_retractions_replays_and_two_paths(campaign):
    c = campaign
    ids = [
        await report(c, i, f"participants={10 * (i + 1)}:people", f"kg_litter={1.5 * (i + 1)}:kg")
        for i in range(CHAPTERS)
    ]
    await wait_totals(
        c.hub, {("kg_litter", "kg"): 22.5, ("participants", "people"): 150}, "all five reports"
    )

    # The rollup is published, signed, and names every report.
    async def rollup_ready() -> bool:
        summary = (await campaign_totals(c.hub.services, "climate")).summary()
        return summary["rollup"] is not None and summary["chapterCount"] == CHAPTERS

    await eventually(rollup_ready, what="the rollup to be published")
    out = await acli(
        "totals", "climate", "--data", str(c.hub.data_dir), "--json", env=c.hub.cli_env
    )
    summary = json.loads(out.stdout)
    assert summary == {
        "campaign": c.campaign_id,
        "rollup": f"{c.campaign_id}/rollup",
        "chapterCount": 5,
        "totals": [
            {"metric": "kg_litter", "unit": "kg", "value": 22.5},
            {"metric": "participants", "unit": "people", "value": 150},
        ],
    }

    status, api_totals = await call_api(
        c.hub.base_url, c.hub_token, "GET", "/api/v1/campaigns/climate/totals"
    )
    assert status == 200
    assert api_totals["totals"] == summary["totals"]
    assert api_totals["chapters"][c.chapters[1].services.ids.actor("c1")] == [
        {"metric": "kg_litter", "unit": "kg", "value": 3},
        {"metric": "participants", "unit": "people", "value": 20},
    ]
    assert api_totals["history"] and api_totals["history"][-1]["totals"] == summary["totals"]

    # A correction replaces the earlier numbers; a retraction removes them.
    await update_report(
        c.chapters[0].services,
        c.organisers[0],
        ids[0],
        parse_metric_args(["participants=12:people", "kg_litter=2:kg"], "counted"),
        None,
    )
    await retract_own_report(c.chapters[4].services, c.organisers[4], ids[4])
    await wait_totals(
        c.hub,
        {("kg_litter", "kg"): 15.5, ("participants", "people"): 102},
        "the correction and the retraction",
    )

    # A replayed Create (same activity again) and the same report relayed by another chapter's
    # node (an Announce carrying the chapter's proof) change nothing.
    sender = c.chapters[1]
    async with sender.services.db.read() as session:
        rep = await session.scalar(select(ImpactReport).where(ImpactReport.ap_id == ids[1]))
        from storage.repositories import actors as actor_repo

        chapter1 = await actor_repo.local_actor_by_name(session, "c1")
    hub_inbox = f"{c.hub.base_url}/inbox"
    create = build_create(f"{sender.base_url}/activities/replay-1", chapter1.ap_id, rep.document)
    signer = sender.services.keys.rsa_signer(chapter1)
    for _ in range(2):
        body = orjson.dumps(create)
        status, _ = await post(
            hub_inbox,
            body,
            signed_post_headers(hub_inbox, body, key_id=signer.key_id, key=signer.private_key),
        )
        assert status == 202
    other = c.chapters[2]
    async with other.services.db.read() as session:
        from storage.repositories import actors as actor_repo

        chapter2 = await actor_repo.local_actor_by_name(session, "c2")
    announce = build_announce(f"{other.base_url}/activities/relay-1", chapter2.ap_id, ids[1])
    announce["object"] = rep.document  # embedded with the origin chapter's proof
    body = orjson.dumps(announce)
    signer2 = other.services.keys.rsa_signer(chapter2)
    status, _ = await post(
        hub_inbox,
        body,
        signed_post_headers(hub_inbox, body, key_id=signer2.key_id, key=signer2.private_key),
    )
    assert status == 202
    await asyncio.sleep(1.0)  # give the hub time to (wrongly) count anything twice
    assert await totals(c.hub) == {("kg_litter", "kg"): 15.5, ("participants", "people"): 102}


async def test_verify_passes_on_an_honest_rollup_and_names_what_is_wrong(campaign):
    c = campaign
    ids = [await report(c, i, f"participants={i + 1}:people") for i in range(3)]
    await wait_totals(c.hub, {("participants", "people"): 6}, "three reports")
    rollup_url = f"{c.campaign_id}/rollup"

    async def rollup_counts_three() -> bool:
        async with c.hub.services.db.read() as session:
            state = await session.scalar(select(CampaignState))
        return (
            state is not None
            and state.rollup_document is not None
            and len(state.rollup_document["chapterhouse:sources"]) == 3
            and not state.dirty
        )

    await eventually(rollup_counts_three, what="a rollup counting all three reports")
    honest = await acli("verify", rollup_url, "--allow-private-network", "--json", check=False)
    assert honest.returncode == 0, honest.stdout + honest.stderr
    assert json.loads(honest.stdout)["checked"] == 3

    # 1. One report's numbers changed at its origin without a valid proof.
    forged_node = c.chapters[1]
    async with forged_node.services.db.write() as session:
        row = await session.scalar(select(ImpactReport).where(ImpactReport.ap_id == ids[1]))
        doc = json.loads(json.dumps(row.document))
        doc["chapterhouse:metrics"][0]["value"] = 2000
        row.document = doc
    result = await acli("verify", rollup_url, "--allow-private-network", "--json", check=False)
    assert result.returncode == 1
    problems = json.loads(result.stdout)["problems"]
    assert any(p["source"] == ids[1] and "proof" in p["problem"] for p in problems)

    # 2. A source that has disappeared: listed as not checked, never called wrong.
    async with c.chapters[2].services.db.write() as session:
        row = await session.scalar(select(ImpactReport).where(ImpactReport.ap_id == ids[2]))
        saved = {col.key: getattr(row, col.key) for col in ImpactReport.__table__.columns}
        await session.delete(row)
    result = await acli("verify", rollup_url, "--allow-private-network", check=False)
    assert result.returncode == 1  # the forged report of case 1 is still wrong
    assert f"- not checked: {ids[2]}:" in result.stdout
    async with c.chapters[1].services.db.write() as session:  # case 1 undone
        row = await session.scalar(select(ImpactReport).where(ImpactReport.ap_id == ids[1]))
        doc = json.loads(json.dumps(row.document))
        doc["chapterhouse:metrics"][0]["value"] = 2
        row.document = doc
    result = await acli("verify", rollup_url, "--allow-private-network", "--json", check=False)
    assert result.returncode == 3, result.stdout  # only unreachable: could not check
    assert json.loads(result.stdout)["unreachable"][0]["source"] == ids[2]
    async with c.chapters[2].services.db.write() as session:
        session.add(ImpactReport(**saved))

    # 3. A campaign that inflates a total (and signs it): the sum of the reports disagrees.
    async with c.hub.services.db.write() as session:
        state = await session.scalar(select(CampaignState))
        doc = json.loads(json.dumps(state.rollup_document))
        doc.pop("proof")
        doc["chapterhouse:totals"][0]["value"] = 600
        from storage.repositories import actors as actor_repo

        campaign_actor = await actor_repo.local_actor_by_name(session, "climate")
        state.rollup_document = sign_object(c.hub.services, campaign_actor, doc)
    result = await acli("verify", rollup_url, "--allow-private-network", "--json", check=False)
    assert result.returncode == 1
    problems = json.loads(result.stdout)["problems"]
    assert any("total participants (people): the rollup says 600" in p["problem"] for p in problems)


async def test_forged_and_invalid_reports_are_refused_and_not_counted(campaign):
    c = campaign
    good = await report(c, 0, "participants=5:people")
    await wait_totals(c.hub, {("participants", "people"): 5}, "the first report")
    node = c.chapters[1]
    hub_inbox = f"{c.hub.base_url}/inbox"
    async with node.services.db.read() as session:
        from storage.repositories import actors as actor_repo

        chapter = await actor_repo.local_actor_by_name(session, "c1")
    signer = node.services.keys.rsa_signer(chapter)

    def note(**changes) -> dict:
        doc = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{chapter.ap_id}/reports/forged{len(changes)}",
            "type": "Note",
            "attributedTo": chapter.ap_id,
            "inReplyTo": c.local_calls[1],
            "chapterhouse:reportOf": c.local_calls[1],
            "published": "2027-04-12T17:00:00Z",
            "chapterhouse:metrics": [{"metric": "participants", "unit": "people", "value": 1000}],
        }
        doc.update(changes)
        return doc

    async def send(activity: dict) -> tuple[int, dict]:
        body = orjson.dumps(activity)
        return await post(
            hub_inbox,
            body,
            signed_post_headers(hub_inbox, body, key_id=signer.key_id, key=signer.private_key),
        )

    signed = sign_object(node.services, chapter, note())
    tampered = {
        **signed,
        "chapterhouse:metrics": [{"metric": "participants", "unit": "people", "value": 9999}],
    }
    status, problem = await send(build_create(f"{chapter.ap_id}#a1", chapter.ap_id, tampered))
    assert status == 403 and "proof" in problem["detail"]

    other_chapter = c.chapters[2].services.ids.actor("c2")
    status, problem = await send(
        build_create(f"{chapter.ap_id}#a2", chapter.ap_id, note(attributedTo=other_chapter))
    )
    assert status == 403

    for bad in (-3, "many", None):
        status, problem = await send(
            build_create(
                f"{chapter.ap_id}#a3{bad}",
                chapter.ap_id,
                note(
                    **{
                        "chapterhouse:metrics": [
                            {"metric": "participants", "unit": "people", "value": bad}
                        ]
                    }
                ),
            )
        )
        assert status == 422, (bad, problem)

    # About another chapter's call: taken in, but never counted.
    status, _ = await send(
        build_create(
            f"{chapter.ap_id}#a4",
            chapter.ap_id,
            note(**{"chapterhouse:reportOf": c.local_calls[0], "inReplyTo": c.local_calls[0]}),
        )
    )
    assert status == 202

    # An Update of chapter 0's report by chapter 1.
    async with c.chapters[0].services.db.read() as session:
        doc = (
            await session.scalar(select(ImpactReport).where(ImpactReport.ap_id == good))
        ).document
    status, problem = await send(build_update(f"{chapter.ap_id}#a5", chapter.ap_id, doc))
    assert status == 403

    await asyncio.sleep(1.0)
    assert await totals(c.hub) == {("participants", "people"): 5}
