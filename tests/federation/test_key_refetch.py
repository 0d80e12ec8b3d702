"""A receiver whose cached key no longer verifies refetches the key once, then accepts."""

from __future__ import annotations

from node.features.actors.local import rotate_keys
from node.features.following.follow import follow, unfollow
from storage.repositories import actors as actor_repo
from storage.repositories import follows as follow_repo
from tests.rig.nodes import Node, eventually


async def _state(node: Node, follower: str, target: str) -> str | None:
    async with node.services.db.read() as session:
        row = await follow_repo.follow_between(session, follower, target)
    return row.state if row is not None else None


async def test_rotated_key_is_refetched_and_delivery_continues(nodes):
    a, b = await nodes(), await nodes()
    chapter = (await b.chapter("greenpark")).actor
    alice = (await a.member("alice")).actor
    await follow(a.services, "alice", chapter.ap_id)

    async def accepted() -> bool:
        return await _state(a, alice.ap_id, chapter.ap_id) == "accepted"

    await eventually(accepted, what="the follow to be accepted")
    async with b.services.db.read() as session:
        old_pem = (await actor_repo.remote_actor(session, alice.ap_id)).public_key_pem

    rotated = await rotate_keys(a.services, "alice")
    assert rotated.rsa_public_pem != old_pem
    await unfollow(a.services, "alice", chapter.ap_id)  # signed with the new key

    async def removed() -> bool:
        return await _state(b, alice.ap_id, chapter.ap_id) is None

    await eventually(removed, what="B to verify the Undo after refetching alice's key")
    async with b.services.db.read() as session:
        assert (
            await actor_repo.remote_actor(session, alice.ap_id)
        ).public_key_pem == rotated.rsa_public_pem
