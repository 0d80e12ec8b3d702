"""A small federation: one chapter node and two member nodes, everyone following the chapter."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from node.features.following.follow import follow
from node.interfaces.activitypub import inbox_worker
from storage.repositories import follows as follow_repo
from tests.rig.flaky import Flaky
from tests.rig.nodes import Node, eventually


@dataclass
class Federation:
    chapter_node: Node
    m1: Node
    m2: Node
    chapter_id: str
    organiser_token: str
    tokens: dict[str, str]  # member name → bearer token
    member_ids: dict[str, str]

    def node_of(self, member: str) -> Node:
        return self.m1 if member in {"alice", "bob"} else self.m2


async def follow_and_wait(node: Node, member: str, target: str) -> None:
    await follow(node.services, member, target)
    follower = node.services.ids.actor(member)

    async def accepted() -> bool:
        async with node.services.db.read() as session:
            row = await follow_repo.follow_between(session, follower, target)
        return row is not None and row.state == "accepted"

    await eventually(accepted, what=f"{member} to be accepted by {target}")


@pytest.fixture
async def federation(nodes) -> Federation:
    c, m1, m2 = await nodes(), await nodes(), await nodes()
    chapter = (await c.chapter("greenpark", title="Green Park Clean-up Crew")).actor
    olga = await c.member("olga", role="organiser", chapter="greenpark")
    tokens, ids = {}, {}
    for node, names in ((m1, ("alice", "bob")), (m2, ("carol", "dan"))):
        for name in names:
            created = await node.member(name)
            tokens[name], ids[name] = created.token, created.actor.ap_id
    for node, names in ((m1, ("alice", "bob")), (m2, ("carol", "dan"))):
        for name in names:
            await follow_and_wait(node, name, chapter.ap_id)
    return Federation(c, m1, m2, chapter.ap_id, olga.token, tokens, ids)


@pytest.fixture
def flaky(monkeypatch) -> Flaky:
    """The inbox worker's dispatch, failing for the activity ids the test names."""
    fake = Flaky()
    monkeypatch.setattr(inbox_worker, "dispatch", fake)
    return fake
