"""A rollup's sources are fetched by durable follow-ups, never on the inbox worker: a stranger's
rollup costs no request at all, and a followed campaign's costs each third-party host at most
``follow_up_per_host`` requests at a time, each report version fetched once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from node.features.actors.local import create_actor
from node.features.impact import follow_ups as impact_follow_ups
from protocol.activities import build_create, build_follow, build_update
from storage.models import FollowUp
from storage.models.follow import ACCEPTED
from storage.repositories import follows as follow_repo
from tests.rig.hostile import HostileServer
from tests.rig.nodes import Node, eventually
from tests.rig.sources import PUBLISHED, ReportServer, rollup_document


@pytest.fixture
async def peers():
    """A remote campaign's server and a third party holding the reports its rollups name."""
    campaigns = await HostileServer().start()
    third_party = ReportServer(delay=0.05)
    await third_party.start()
    yield campaigns, third_party
    await third_party.stop()
    await campaigns.stop()


async def _rows(node: Node, kind: str) -> list[FollowUp]:
    async with node.services.db.read() as session:
        return list(await session.scalars(select(FollowUp).where(FollowUp.kind == kind)))


async def _send_rollup(node: Node, server: HostileServer, name: str, doc: dict, *, update=False):
    actor = server.actor_id(name)
    build = build_update if update else build_create
    reply = await server.post(
        f"{node.base_url}/inbox", build(server.activity_id("rollup"), actor, doc), as_actor=name
    )
    assert reply.status == 202, reply.problem


async def _follow_is_answered_soon(node: Node, server: HostileServer, target: str) -> None:
    """A Follow sent now is accepted within seconds (the inbox worker is not held up)."""
    server.add_actor("fan")
    follow = build_follow(server.activity_id("follow"), server.actor_id("fan"), target)
    reply = await server.post(f"{node.base_url}/inbox", follow, as_actor="fan")
    assert reply.status == 202, reply.problem

    async def accepted() -> bool:
        return any(p.get("type") == "Accept" for p in server.posts("/actors/fan/inbox"))

    await eventually(accepted, timeout=5, what="the Follow sent after the rollup to be accepted")


async def test_a_strangers_rollup_costs_no_fetch_and_holds_up_no_follow(nodes, peers):
    strangers, third_party = peers
    third_party.delay = 1.0  # 300 sources one after another would hold the inbox for minutes
    node = await nodes()
    await create_actor(node.services, "world", "campaign")  # a campaign that follows nobody
    chapter = (await node.chapter("greenpark")).actor
    strangers.add_actor("mallory", kind="Group")
    forged = rollup_document(strangers.actor_id("mallory"), third_party.reports(300))

    await _send_rollup(node, strangers, "mallory", forged)
    await _follow_is_answered_soon(node, strangers, chapter.ap_id)

    await asyncio.sleep(0.5)  # anything the rollup set going would have started by now
    assert third_party.server.seen == []  # not a single request to the reports' host
    async with node.services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(FollowUp)) == 0


async def test_a_followed_campaigns_rollup_is_fetched_two_at_a_time_and_once(nodes, peers):
    europe, third_party = peers
    node = await nodes()
    world = (await create_actor(node.services, "world", "campaign")).actor
    europe.add_actor("europe", kind="Group")
    europe_id = europe.actor_id("europe")
    async with node.services.db.write() as session:  # our campaign follows theirs (accepted)
        await follow_repo.put_follow(
            session,
            activity_id=f"{world.ap_id}#follows/europe",
            follower=world.ap_id,
            target=europe_id,
            follower_inbox=None,
            state=ACCEPTED,
            now=node.services.clock.now(),
        )
    sources = third_party.reports(300)
    await _send_rollup(node, europe, "europe", rollup_document(europe_id, sources))
    # While the sources are fetched (300 at 50 ms, two at a time: seconds), the inbox answers.
    await _follow_is_answered_soon(node, europe, world.ap_id)
    assert len(third_party.fetched) < len(sources)

    async def all_fetched() -> bool:
        return len(third_party.fetched) == len(sources) and third_party.in_flight == 0

    await eventually(all_fetched, timeout=60, what="every source to be fetched")
    assert third_party.peak == 2  # two at a time (follow_up_per_host): bounded, and parallel
    assert set(third_party.fetched.values()) == {1}
    assert len(await _rows(node, impact_follow_ups.ROLLUP_SOURCE)) == len(sources)

    # The next version of the rollup (and a replay of it) names the same report versions:
    # nothing is fetched again.
    later = rollup_document(europe_id, sources, updated=PUBLISHED + timedelta(minutes=5))
    await _send_rollup(node, europe, "europe", later, update=True)
    await _send_rollup(node, europe, "europe", later, update=True)

    async def both_versions_expanded() -> bool:
        rows = await _rows(node, impact_follow_ups.ROLLUP)
        return len(rows) == 2 and all(row.state == "done" for row in rows)

    await eventually(both_versions_expanded, what="the second version to be expanded")
    await asyncio.sleep(0.3)
    assert sum(third_party.fetched.values()) == len(sources)
    assert len(await _rows(node, impact_follow_ups.ROLLUP_SOURCE)) == len(sources)


async def test_sources_beyond_the_cap_of_one_rollup_version_are_not_recorded(
    nodes, peers, monkeypatch
):
    europe, third_party = peers
    third_party.delay = 0.0
    monkeypatch.setattr(impact_follow_ups, "MAX_SOURCES_PER_ROLLUP", 40)
    node = await nodes()
    world = (await create_actor(node.services, "world", "campaign")).actor
    europe.add_actor("europe", kind="Group")
    europe_id = europe.actor_id("europe")
    async with node.services.db.write() as session:
        await follow_repo.put_follow(
            session,
            activity_id=f"{world.ap_id}#follows/europe",
            follower=world.ap_id,
            target=europe_id,
            follower_inbox=None,
            state=ACCEPTED,
            now=node.services.clock.now(),
        )
    sources = third_party.reports(100)
    await _send_rollup(node, europe, "europe", rollup_document(europe_id, sources))

    async def settled() -> bool:
        rows = await _rows(node, impact_follow_ups.ROLLUP_SOURCE)
        return len(rows) == 40 and all(row.state != "pending" for row in rows)

    await eventually(settled, what="the first 40 sources to be fetched")
    assert set(third_party.fetched) == {f"/reports/r{i}" for i in range(40)}
