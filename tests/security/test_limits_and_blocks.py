"""Floods, blocks and replays of the same activity id."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import orjson
from sqlalchemy import select

from protocol.activities import build_follow
from storage.models import InboxItem
from storage.models.activity import RECEIVED
from tests.rig.hostile import HostileServer, send
from tests.rig.nodes import Node, acli, eventually
from tests.security.helpers import (
    Honest,
    Target,
    assert_nothing_stored,
    assert_serves_honest,
    make_target,
    no_key_fetch,
    only_fetched,
    rows,
)

RATE, BURST, FLOOD = 50.0, 100, 1000


def _follow(hostile: HostileServer, target: Target, actor: str = "mallory") -> dict:
    return build_follow(hostile.activity_id("follow"), hostile.actor_id(actor), target.chapter)


# -- rate limits -------------------------------------------------------------------------------


async def test_1000_requests_a_second_from_one_domain_are_held_to_its_rate(
    nodes, hostile: HostileServer, honest: Honest
):
    # Every request here comes from 127.0.0.1: the per-address budget (before verification) is
    # raised so that this test measures the verified domain's budget.
    target = await make_target(
        nodes,
        inbox_rate_per_domain=RATE,
        inbox_burst_per_domain=BURST,
        inbox_rate_per_ip=1_000_000.0,
        inbox_burst_per_ip=1_000_000,
    )
    prepared = []
    for _ in range(FLOOD):
        body = orjson.dumps(_follow(hostile, target))
        prepared.append((body, hostile.signed_headers(target.shared_inbox, body)))
    before = await rows(target.node)
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.monotonic()
        replies = await asyncio.gather(
            *(send(target.shared_inbox, b, h, session=session) for b, h in prepared)
        )
        elapsed = time.monotonic() - started
    statuses = [r.status for r in replies]
    accepted = statuses.count(202)
    limited = [r for r in replies if r.status == 429]
    assert not [s for s in statuses if s >= 500], sorted(set(statuses))
    assert set(statuses) <= {202, 429}, sorted(set(statuses))
    allowance = BURST + RATE * elapsed + 1
    assert accepted <= allowance, (
        f"{accepted} accepted in {elapsed:.2f}s (allowance {allowance:.0f})"
    )
    assert len(limited) >= FLOOD - allowance, f"only {len(limited)} of {FLOOD} were limited"
    assert accepted >= 1
    for reply in limited:
        assert int(reply.headers["Retry-After"]) >= 1
        assert hostile.authority in reply.detail
    after = await rows(target.node)
    assert after["InboxItem"] - before["InboxItem"] == accepted
    # The domain's budget is charged once the signature is verified (a claimed key id proves
    # nothing); the flood's one key is fetched once and cached, not once per request.
    assert hostile.gets().count("/actors/mallory") <= 2, hostile.gets()
    # Another domain is not held back by this one's flood.
    only_fetched(hostile, "/actors/mallory")
    await assert_serves_honest(target, honest)


# -- idempotence -------------------------------------------------------------------------------


async def test_the_same_activity_twice_is_stored_once(
    target: Target, hostile: HostileServer, honest: Honest
):
    activity = _follow(hostile, target)
    body = orjson.dumps(activity)
    before = await rows(target.node)
    for _ in range(2):
        reply = await hostile.post(target.inbox, body)
        assert reply.status == 202, reply
    # ...and sent five times at once (one group commit may hold them all).
    replies = await asyncio.gather(*(hostile.post(target.inbox, body) for _ in range(5)))
    assert [r.status for r in replies] == [202] * 5, replies
    after = await rows(target.node)
    assert after["InboxItem"] == before["InboxItem"] + 1
    only_fetched(hostile, "/actors/mallory")
    await assert_serves_honest(target, honest)


async def test_the_same_activity_id_with_a_different_body_is_409(
    target: Target, hostile: HostileServer, honest: Honest
):
    activity = _follow(hostile, target)
    reply = await hostile.post(target.inbox, activity)
    assert reply.status == 202, reply

    async def handled() -> bool:
        async with target.node.services.db.read() as session:
            item = await session.scalar(
                select(InboxItem).where(InboxItem.activity_id == activity["id"])
            )
        return item is not None and item.state != RECEIVED

    await eventually(handled, what="the original Follow to be handled")
    before = await rows(target.node)
    async with target.node.services.db.read() as session:
        original = await session.scalar(
            select(InboxItem).where(InboxItem.activity_id == activity["id"])
        )
    assert original is not None
    for changed in (
        {**activity, "object": honest.actor_id},
        {**activity, "to": [hostile.actor_id("eve")]},
        {**activity, "type": "Like"},
    ):
        reply = await hostile.post(target.inbox, changed)
        assert reply.status == 409, (changed, reply)
        assert "different" in reply.detail and activity["id"] in reply.detail
    await assert_nothing_stored(target.node, before)
    async with target.node.services.db.read() as session:
        row = await session.scalar(select(InboxItem).where(InboxItem.activity_id == activity["id"]))
    assert row is not None
    assert (row.id, row.body, row.body_sha256) == (original.id, original.body, original.body_sha256)
    only_fetched(hostile, "/actors/mallory")
    await assert_serves_honest(target, honest)


# -- blocks ------------------------------------------------------------------------------------


async def test_a_suspended_domain_is_refused_before_any_fetch(
    nodes, target: Target, hostile: HostileServer, honest: Honest
):
    from node.features.moderation.blocks import block_domain

    await block_domain(target.node.services, hostile.authority, reason="spam")
    before = await rows(target.node)
    for actor in ("mallory", "eve"):
        reply = await hostile.post(target.inbox, _follow(hostile, target, actor), as_actor=actor)
        assert reply.status == 403, (actor, reply)
        assert "blocked" in reply.detail
    # A keyId the node has never seen, on the blocked domain: still no fetch.
    reply = await hostile.post(
        target.inbox, _follow(hostile, target), key_id=hostile.url("/keys/new#k")
    )
    assert reply.status == 403 and "blocked" in reply.detail
    no_key_fetch(hostile)
    await assert_nothing_stored(target.node, before)
    await assert_serves_honest(target, honest)


async def test_a_blocked_actor_is_refused_before_any_fetch_and_others_are_not(
    target: Target, hostile: HostileServer, honest: Honest
):
    from node.features.moderation.blocks import block_actor

    await block_actor(target.node.services, hostile.actor_id("mallory"), reason="harassment")
    before = await rows(target.node)
    reply = await hostile.post(target.inbox, _follow(hostile, target))
    assert reply.status == 403, reply
    assert "blocked" in reply.detail
    no_key_fetch(hostile)
    await assert_nothing_stored(target.node, before)
    # eve, on the same server, is not blocked.
    reply = await hostile.post(target.inbox, _follow(hostile, target, "eve"), as_actor="eve")
    assert reply.status == 202, reply
    assert "/actors/mallory" not in hostile.gets()
    await assert_serves_honest(target, honest)


async def _restarted(nodes, node: Node) -> Node:
    await node.stop()
    return await nodes.restart(node)


async def _cli(node: Node, *args: str) -> str:
    result = await acli(*args, "--data", str(node.data_dir), env=node.cli_env)
    return result.stdout


async def test_blocks_from_the_command_line(
    nodes, target: Target, hostile: HostileServer, honest: Honest, tmp_path: Path
):
    """``block import`` (Mastodon's CSV), ``block domain``, ``block actor``, ``block list``,
    ``unblock``, on the data directory of a running node (picked up by a restart)."""
    carl = Honest(honest.node, (await honest.node.member("carl")).actor)  # alice's neighbour
    csv = tmp_path / "blocks.csv"
    csv.write_text(
        "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"
        f"{hostile.authority},suspend,true,true,Spam and harassment,false\n"
        "silenced.example,silence,false,false,,false\n"
    )
    node = target.node
    await _cli(node, "block", "import", str(csv))
    await _cli(node, "block", "domain", "other.example", "--severity", "silence")
    await _cli(node, "block", "actor", carl.actor_id)
    listed = json.dumps(json.loads(await _cli(node, "block", "list", "--json")))
    for expected in (hostile.authority, "silenced.example", "other.example", carl.actor_id):
        assert expected in listed, (expected, listed)
    assert "suspend" in listed and "silence" in listed
    assert honest.actor_id not in listed
    node = target.node = await _restarted(nodes, node)
    before = await rows(node)
    reply = await hostile.post(target.inbox, _follow(hostile, target))
    assert reply.status == 403 and "blocked" in reply.detail, reply
    reply = await carl.post(
        target.inbox, build_follow(carl.node.services.activity_id(), carl.actor_id, target.chapter)
    )
    assert reply.status == 403 and "blocked" in reply.detail, reply
    no_key_fetch(hostile)
    assert "/actors/carl" not in [h.path for h in honest.node.hits if h.method == "GET"]
    await assert_nothing_stored(node, before)
    await assert_serves_honest(target, honest)  # alice, on carl's node, is not blocked

    # Lifted again, the domain is served.
    await _cli(node, "unblock", hostile.authority)
    node = target.node = await _restarted(nodes, node)
    reply = await hostile.post(target.inbox, _follow(hostile, target))
    assert reply.status == 202, reply
    await assert_serves_honest(target, honest)
