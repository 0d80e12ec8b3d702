"""A chapter moved with export/import keeps its followers: they receive the ``Move`` and
follow the new actor (issue 18, "Done when"). Real nodes on loopback, real signed HTTP, the
real ``chapterhouse`` commands; and ``Move``s that must change nothing."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from sqlalchemy import select

from node.features.actors.move import build_move
from node.features.calls.lifecycle import create_action
from node.federation.outbox.publish import publish
from storage.models import FollowUp, InboxItem, Notification
from storage.models.states import InboxState
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo
from storage.repositories import follows as follow_repo
from tests.federation.conftest import follow_and_wait
from tests.federation.test_campaigns import principal
from tests.rig.nodes import Node, acli, eventually

CALL = {
    "title": "Riverbank litter pick",
    "start": "2026-12-20T10:00:00+00:00",
    "end": "2026-12-20T12:00:00+00:00",
    "place": {"name": "Riverbank"},
}
PASSPHRASE = "correct horse battery staple"


async def _state(node: Node, follower: str, target: str) -> str | None:
    async with node.services.db.read() as session:
        row = await follow_repo.follow_between(session, follower, target)
    return row.state if row is not None else None


async def _has_call(node: Node, call_id: str) -> bool:
    async with node.services.db.read() as session:
        return await action_repo.call_by_ap_id(session, call_id) is not None


async def _get_json(url: str) -> dict:
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers={"Accept": "application/activity+json"}) as resp,
    ):
        assert resp.status == 200, url
        return await resp.json(content_type=None)


async def test_moved_chapter_keeps_its_followers(nodes, tmp_path: Path):
    old_node, b, d, new_node = await nodes(), await nodes(), await nodes(), await nodes()
    old = (await old_node.chapter("greenpark", title="Green Park")).actor
    await old_node.member("olga", role="organiser", chapter="greenpark")
    kept_call = await create_action(
        old_node.services, await principal(old_node, "olga"), "greenpark", CALL
    )
    alice = (await b.member("alice")).actor
    dan = (await d.member("dan")).actor
    await follow_and_wait(b, "alice", old.ap_id)
    await follow_and_wait(d, "dan", old.ap_id)

    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    archive = tmp_path / "greenpark.chapter"
    exported = await acli(
        "chapter", "export", "greenpark", "--data", str(old_node.data_dir), str(archive),
        "--passphrase-file", str(secret), env=old_node.cli_env,
    )  # fmt: skip
    assert "exporting" in exported.stderr  # progress, on stderr
    assert PASSPHRASE.encode() not in archive.read_bytes()
    imported = await acli(
        "chapter", "import", str(archive), "--data", str(new_node.data_dir),
        "--name", "greenpark2", env={**new_node.cli_env, "CHAPTERHOUSE_EXPORT_PASSPHRASE": PASSPHRASE},
    )  # fmt: skip
    new_id = imported.stdout.strip()
    assert new_id == new_node.services.ids.actor("greenpark2")
    new_doc = await _get_json(new_id)
    assert new_doc["alsoKnownAs"] == [old.ap_id]
    assert new_doc["publicKey"]["publicKeyPem"] != old.rsa_public_pem  # a new actor, new keys
    moved_call = kept_call.ap_id.replace(old.ap_id, new_id)
    assert await _has_call(new_node, moved_call)

    await acli(
        "chapter", "moved", "greenpark", "--to", new_id, "--data", str(old_node.data_dir),
        env=old_node.cli_env,
    )  # fmt: skip
    assert (await _get_json(old.ap_id))["movedTo"] == new_id
    async with (
        aiohttp.ClientSession() as http,
        http.get(old.ap_id, headers={"Accept": "text/html"}) as page,
    ):
        html = await page.text()
    assert 'id="moved-to"' in html and f'href="{new_id}"' in html  # the old page says where

    for node, member in ((b, alice), (d, dan)):

        async def follows_new(node: Node = node, member_id: str = member.ap_id) -> bool:
            return await _state(node, member_id, new_id) == "accepted"

        await eventually(follows_new, timeout=30, what=f"{member.name} to follow the new actor")
        assert await _state(node, member.ap_id, old.ap_id) is None  # the old follow is dropped
        assert await _state(new_node, member.ap_id, new_id) == "accepted"  # C has the Follow

    async def old_follows_gone() -> bool:
        async with old_node.services.db.read() as session:
            return await follow_repo.follower_ids(session, old.ap_id) == []

    await eventually(old_follows_gone, what="the old node to apply the Undos")
    async with b.services.db.read() as session:
        told = await session.scalar(
            select(Notification).where(
                Notification.member_id == alice.id, Notification.kind == "chapter_moved"
            )
        )
    assert told is not None and told.data["new"] == new_id

    # The moved chapter publishes on C: its followers on B and D receive it.
    olga_there = await principal(new_node, "olga")  # the organiser came along
    fresh = await create_action(new_node.services, olga_there, "greenpark2", CALL)
    for node in (b, d):
        await eventually(
            lambda node=node: _has_call(node, fresh.ap_id), what="the new call to reach followers"
        )


async def _processed(node: Node, activity_id: str) -> bool:
    async with node.services.db.read() as session:
        state = await session.scalar(
            select(InboxItem.state).where(InboxItem.activity_id == activity_id)
        )
    return state == InboxState.PROCESSED


async def _send_move(node: Node, sender: str, move: dict, inbox: str) -> None:
    async with node.services.db.write() as session:
        actor = await actor_repo.local_actor_by_name(session, sender)
        assert actor is not None
        await publish(session, node.services, actor, move, [inbox])
    node.services.wakeups.deliveries.set()


async def test_hostile_moves_change_nothing(nodes):
    origin, b, elsewhere = await nodes(), await nodes(), await nodes()
    chapter = (await origin.chapter("greenpark")).actor
    other = (await origin.chapter("riverside")).actor
    impostor = (await elsewhere.chapter("impostor")).actor  # names nobody in alsoKnownAs
    alice = (await b.member("alice")).actor
    await follow_and_wait(b, "alice", chapter.ap_id)
    await follow_and_wait(b, "alice", other.ap_id)
    inbox = b.services.ids.shared_inbox()

    # 1. The target does not name the origin: fetched, refused.
    unnamed = build_move(origin.services.activity_id(), chapter.ap_id, impostor.ap_id, "x")
    # 2. The actor moves someone else (actor is not the object).
    not_itself = {
        **build_move(origin.services.activity_id(), chapter.ap_id, impostor.ap_id, "x"),
        "object": other.ap_id,
    }
    # 3. No usable target.
    no_target = {**build_move(origin.services.activity_id(), chapter.ap_id, "", "x")}
    del no_target["target"]
    for move in (unnamed, not_itself, no_target):
        await _send_move(origin, "greenpark", move, inbox)
    for move in (unnamed, not_itself, no_target):
        await eventually(lambda m=move: _processed(b, m["id"]), what="B to handle the Move")

    async def follow_up_done() -> bool:
        async with b.services.db.read() as session:
            row = await session.scalar(select(FollowUp).where(FollowUp.key == unnamed["id"]))
        return row is not None and row.state == "done"

    await eventually(follow_up_done, what="the move follow-up to finish")
    assert any(h.path.endswith("/impostor") for h in elsewhere.hits)  # fetched, not trusted
    async with b.services.db.read() as session:
        rows = list(
            await session.scalars(select(FollowUp).where(FollowUp.kind == "move_followers"))
        )
    assert [r.key for r in rows] == [unnamed["id"]]  # only the well-formed one got that far
    assert await _state(b, alice.ap_id, chapter.ap_id) == "accepted"
    assert await _state(b, alice.ap_id, other.ap_id) == "accepted"
    assert await _state(b, alice.ap_id, impostor.ap_id) is None
