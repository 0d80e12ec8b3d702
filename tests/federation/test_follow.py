"""A member on one node follows a chapter on another, over real signed HTTP."""

from __future__ import annotations

from node.features.following.follow import follow, following, unfollow
from storage.repositories import follows as follow_repo
from tests.rig.http import collection_items
from tests.rig.nodes import Node, eventually


async def _state(node: Node, follower: str, target: str) -> str | None:
    async with node.services.db.read() as session:
        row = await follow_repo.follow_between(session, follower, target)
    return row.state if row is not None else None


async def test_member_follows_chapter_by_handle_then_undoes(nodes):
    a, b = await nodes(), await nodes()
    chapter = (await b.chapter("greenpark", title="Green Park")).actor
    alice = (await a.member("alice")).actor

    result = await follow(a.services, "alice", f"acct:greenpark@{b.authority}")
    assert result.target == chapter.ap_id
    assert result.state == "pending"

    async def accepted() -> bool:
        return await _state(a, alice.ap_id, chapter.ap_id) == "accepted"

    await eventually(accepted, what="A to record the Accept from B")
    assert await _state(b, alice.ap_id, chapter.ap_id) == "accepted"
    assert await collection_items(f"{chapter.ap_id}/followers") == [alice.ap_id]
    assert await collection_items(f"{alice.ap_id}/following") == [chapter.ap_id]
    rows = await following(a.services, "alice")
    assert [(r.target, r.state) for r in rows] == [(chapter.ap_id, "accepted")]

    await unfollow(a.services, "alice", f"acct:greenpark@{b.authority}")

    async def removed_on_b() -> bool:
        return await _state(b, alice.ap_id, chapter.ap_id) is None

    await eventually(removed_on_b, what="B to apply the Undo")
    assert await collection_items(f"{chapter.ap_id}/followers") == []
    assert await _state(a, alice.ap_id, chapter.ap_id) is None


async def test_follow_by_actor_url_works_too(nodes):
    a, b = await nodes(), await nodes()
    chapter = (await b.chapter("riverside")).actor
    bob = (await a.member("bob")).actor
    await follow(a.services, "bob", chapter.ap_id)

    async def accepted() -> bool:
        return await _state(a, bob.ap_id, chapter.ap_id) == "accepted"

    await eventually(accepted, what="the follow by URL to be accepted")


async def test_chapter_that_approves_followers_leaves_follow_pending(nodes):
    a, b = await nodes(), await nodes()
    chapter = (await b.chapter("closed", approve_followers=True)).actor
    carol = (await a.member("carol")).actor
    await follow(a.services, "carol", f"acct:closed@{b.authority}")

    async def pending_on_b() -> bool:
        return await _state(b, carol.ap_id, chapter.ap_id) == "pending"

    await eventually(pending_on_b, what="B to record the pending request")
    assert await _state(a, carol.ap_id, chapter.ap_id) == "pending"
    assert await collection_items(f"{chapter.ap_id}/followers") == []
