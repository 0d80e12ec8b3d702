"""Nothing an inbound activity leaves to do is lost: a report on a call we cannot fetch yet is
kept as a follow-up, tried again with backoff, and counted once the call can be fetched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
from aiohttp import web
from sqlalchemy import select

from node.features.actors.local import create_actor
from node.features.calls.lifecycle import create_action
from node.features.impact import follow_ups as impact_follow_ups
from node.features.impact.campaigns import campaign_totals
from protocol.activities import build_create, build_follow
from protocol.events import ActionCall, build_event
from protocol.impact import ImpactReport, Measure, build_report
from storage.models import Follow, FollowUp
from tests.federation.test_campaigns import principal
from tests.rig.hostile import AP, HostileServer
from tests.rig.nodes import Node, eventually

# Last week's day of action: impact is reported once a call has started.
START = (datetime.now(UTC) - timedelta(days=7)).replace(hour=10, minute=0, second=0, microsecond=0)
CALL = {
    "title": "Global day of action",
    "start": START.isoformat(),
    "end": (START + timedelta(hours=6)).isoformat(),
}


async def _follow_up(node: Node, kind: str) -> FollowUp | None:
    async with node.services.db.read() as session:
        return await session.scalar(select(FollowUp).where(FollowUp.kind == kind))


async def test_a_report_whose_call_cannot_be_fetched_yet_is_counted_later(nodes):
    hub = await nodes(follow_up_retry_base_seconds=2.0)
    world = (await create_actor(hub.services, "world", "campaign")).actor
    await hub.member("cora", role="organiser", chapter="world")
    campaign_call = await create_action(hub.services, await principal(hub, "cora"), "world", CALL)

    paris = await HostileServer().start()
    try:
        paris.add_actor("paris", kind="Group")
        chapter = paris.actor_id("paris")
        follow = build_follow(paris.activity_id("follow"), chapter, world.ap_id)
        assert (await paris.post(f"{hub.base_url}/inbox", follow, as_actor="paris")).status == 202

        async def joined() -> bool:
            async with hub.services.db.read() as session:
                row = await session.scalar(
                    select(Follow).where(Follow.follower == chapter, Follow.target == world.ap_id)
                )
            return row is not None and row.state == "accepted"

        await eventually(joined, what="paris to join the campaign")

        # Paris's call adopts the campaign's; its server cannot serve it for now.
        call_path = "/actors/paris/actions/1"
        call_doc = build_event(
            ActionCall(
                id=paris.url(call_path),
                chapter=chapter,
                title="Clean the Seine",
                start=START,
                end=START + timedelta(hours=6),
                published=START - timedelta(days=30),
                campaign=campaign_call.ap_id,
            )
        )
        reachable = False

        async def serve_call(_: web.Request) -> web.StreamResponse:
            if not reachable:
                return web.Response(status=503, text="down for maintenance")
            return web.Response(body=orjson.dumps(call_doc), content_type=AP)

        paris.serve(call_path, serve_call)
        report = build_report(
            ImpactReport(
                id=paris.url("/actors/paris/reports/1"),
                chapter=chapter,
                call=paris.url(call_path),
                measures=(Measure("participants", "people", Decimal(12)),),
                published=START + timedelta(hours=8),
            )
        )
        create = build_create(paris.activity_id("report"), chapter, report)
        assert (await paris.post(f"{hub.base_url}/inbox", create, as_actor="paris")).status == 202

        async def tried_once() -> bool:
            row = await _follow_up(hub, impact_follow_ups.REPORT_CALL)
            return row is not None and row.attempts >= 1

        await eventually(tried_once, what="a first try to fetch the call")
        row = await _follow_up(hub, impact_follow_ups.REPORT_CALL)
        assert row is not None
        assert row.state == "pending"  # kept, to be tried again...
        assert row.next_attempt_at > row.updated_at  # ...later, with backoff
        assert "503" in (row.last_error or "")
        assert paris.hits(call_path, "GET")
        assert (await campaign_totals(hub.services, "world")).totals == []

        reachable = True

        async def counted() -> bool:
            totals = (await campaign_totals(hub.services, "world")).totals
            return [(t["metric"], t["unit"], t["value"]) for t in totals] == [
                ("participants", "people", 12)
            ]

        await eventually(counted, what="the report to be counted once its call is reachable")
        row = await _follow_up(hub, impact_follow_ups.REPORT_CALL)
        assert row is not None and row.state == "done"
    finally:
        await paris.stop()
