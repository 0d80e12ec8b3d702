"""Issue 14, on real nodes: a call fetched because a report names it is stored sanitised like one
delivered in a Create, and a relayed report whose proof has expired is not counted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from node.features.actors.local import create_actor
from node.features.calls.lifecycle import adopt_action
from protocol.activities import build_announce, build_create
from protocol.impact import ImpactReport, Measure, build_report
from protocol.proofs import create_proof
from storage.models import ActionCall, FollowUp
from storage.repositories import actors as actor_repo
from tests.federation.conftest import follow_and_wait
from tests.federation.test_campaigns import CALL, principal, totals, wait_totals
from tests.rig.api import call_api
from tests.rig.bulk import add_followers
from tests.rig.hostile import HostileServer
from tests.rig.nodes import Node, eventually
from tests.security.helpers import Honest, Target, assert_serves_honest
from tests.security.test_content import NASTY_HTML, unsafe_html
from tests.security.test_inputs_that_get_through import _event, _report

# -- a call reached through a report --------------------------------------------------------


async def test_a_call_fetched_for_a_report_is_stored_and_served_sanitised(
    target: Target, hostile: HostileServer, honest: Honest
):
    """eve, a member of the target's campaign, reports on a call the target does not hold: the
    target fetches the call from eve's origin. Its HTML went into the database as served."""
    await target.with_member()
    eve = hostile.actor_id("eve")
    campaign = (await create_actor(target.node.services, "climate", "campaign")).actor
    await add_followers(target.node, campaign.ap_id, [(eve, hostile.url("/actors/eve/inbox"))])
    await add_followers(target.node, eve, [(target.member, None)])  # bea sees eve's calls
    event = _event(hostile, "fetched", content=NASTY_HTML)
    hostile.serve_json(event["id"].removeprefix(hostile.base_url), event)
    report = _report(hostile, "fetched", event["id"])
    reply = await hostile.post(
        target.inbox, build_create(hostile.activity_id(), eve, report), as_actor="eve"
    )
    assert reply.status == 202, reply

    async def fetched_and_stored() -> bool:
        async with target.node.services.db.read() as session:
            row = await session.scalar(select(ActionCall).where(ActionCall.ap_id == event["id"]))
        return row is not None

    await eventually(fetched_and_stored, what="the reported call to be fetched and stored")
    assert hostile.hits(event["id"].removeprefix(hostile.base_url), "GET")
    async with target.node.services.db.read() as session:
        row = await session.scalar(select(ActionCall).where(ActionCall.ap_id == event["id"]))
    assert row is not None
    stored = row.document["content"]
    assert unsafe_html(stored) == [], stored
    assert "<script>" not in stored and "gloves" in stored
    status, feed = await call_api(target.node.base_url, target.token, "GET", "/api/v1/feed")
    assert status == 200, feed
    (item,) = [i for i in feed["items"] if i["id"] == event["id"]]
    assert unsafe_html(item["description"]) == [], item["description"]
    assert "<script>" not in item["description"]
    await assert_serves_honest(target, honest)


# -- a relayed report whose proof has expired ---------------------------------------------------


@dataclass
class OneChapterCampaign:
    hub: Node  # the campaign's node
    chapter_node: Node
    chapter: str  # the chapter's actor id
    call: str  # the chapter's call, adopted from the campaign's


async def _one_chapter_campaign(nodes) -> OneChapterCampaign:
    hub = await nodes()
    campaign = (await create_actor(hub.services, "climate", "campaign", title="Climate")).actor
    cora = await hub.member("cora", role="organiser", chapter="climate")
    node = await nodes()
    chapter = (await node.chapter("c0")).actor
    await node.member("o0", role="organiser", chapter="c0")
    await follow_and_wait(node, "c0", campaign.ap_id)  # the chapter joins the campaign
    status, call = await call_api(
        hub.base_url, cora.token, "POST", "/api/v1/chapters/climate/actions", CALL
    )
    assert status == 201, call

    async def holds(on: Node, call_id: str) -> bool:
        async with on.services.db.read() as session:
            found = await session.scalar(select(ActionCall).where(ActionCall.ap_id == call_id))
        return found is not None

    await eventually(lambda: holds(node, call["id"]), what="the campaign's call to reach c0")
    adopted = await adopt_action(node.services, await principal(node, "o0"), call["id"], "c0")
    await eventually(lambda: holds(hub, adopted.ap_id), what="the hub to hold c0's call")
    return OneChapterCampaign(hub, node, chapter.ap_id, adopted.ap_id)


async def _signed_report(
    c: OneChapterCampaign, ident: str, value: int, created: datetime, expires: datetime | None
) -> dict:
    """A report by c0 with c0's own proof (its Ed25519 key), never published by c0 itself."""
    node = c.chapter_node
    async with node.services.db.read() as session:
        chapter = await actor_repo.local_actor_by_name(session, "c0")
    report = ImpactReport(
        id=f"{c.chapter}/reports/{ident}",
        chapter=c.chapter,
        call=c.call,
        measures=(Measure("participants", "people", Decimal(value)),),
        published=created,
    )
    return create_proof(
        build_report(report),
        node.services.keys.ed25519_key(chapter),
        verification_method=node.services.ids.ed25519_key("c0"),
        created=created,
        expires=expires,
    )


async def _relay(hostile: HostileServer, hub: Node, doc: dict) -> str:
    """mallory relays ``doc`` to the hub in an Announce; returns the Announce's id."""
    mallory = hostile.actor_id("mallory")
    announce = build_announce(hostile.activity_id("relay"), mallory, doc["id"])
    announce["object"] = doc
    reply = await hostile.post(f"{hub.base_url}/inbox", announce, as_actor="mallory")
    assert reply.status == 202, reply
    return announce["id"]


async def test_a_relayed_report_whose_proof_has_expired_is_not_counted(nodes, hostile):
    c = await _one_chapter_campaign(nodes)
    now = datetime.now(UTC)
    expired = await _signed_report(
        c, "relayed-expired", 40, now - timedelta(days=2), now - timedelta(days=1)
    )
    relay_id = await _relay(hostile, c.hub, expired)

    async def tried() -> bool:
        async with c.hub.services.db.read() as session:
            row = await session.scalar(select(FollowUp).where(FollowUp.key == relay_id))
        return row is not None and (row.attempts > 0 or row.state != "pending")

    await eventually(tried, what="the hub to try the relayed report")
    assert await totals(c.hub) == {}, "a report whose proof expired was counted"

    # The same report with a live proof, relayed the same way, is counted: the refusal above
    # was the expiry, not the path.
    live = await _signed_report(c, "relayed-live", 7, now, now + timedelta(days=1))
    await _relay(hostile, c.hub, live)
    await wait_totals(c.hub, {("participants", "people"): 7}, "the live relayed report")


async def test_a_relayed_report_dated_ahead_of_the_clock_is_not_counted(nodes, hostile):
    c = await _one_chapter_campaign(nodes)
    ahead = await _signed_report(
        c, "relayed-ahead", 40, datetime.now(UTC) + timedelta(days=1), None
    )
    relay_id = await _relay(hostile, c.hub, ahead)

    async def tried() -> bool:
        async with c.hub.services.db.read() as session:
            row = await session.scalar(select(FollowUp).where(FollowUp.key == relay_id))
        return row is not None and (row.attempts > 0 or row.state != "pending")

    await eventually(tried, what="the hub to try the relayed report")
    assert await totals(c.hub) == {}, "a report whose proof is dated tomorrow was counted"
