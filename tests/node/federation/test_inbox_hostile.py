"""Hostile input at the inbox: each refused with the right status and a clear message,
and nothing from it is stored."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from sqlalchemy import func, select

from node.runtime.clock import SystemClock
from protocol.activities import build_follow
from storage.models import Follow, InboxItem
from tests.rig.nodes import Node
from tests.rig.signing import post, signed_post_headers


@pytest.fixture
async def pair(nodes):
    """Node A hosts the senders (alice, mallory); node B hosts the chapter."""
    a, b = await nodes(), await nodes()
    alice = (await a.member("alice")).actor
    mallory = (await a.member("mallory")).actor
    chapter = (await b.chapter("greenpark")).actor
    return a, b, alice, mallory, chapter


def _key(node: Node, actor):
    return node.services.keys.rsa_signer(actor)


async def _stored(node: Node) -> tuple[int, int]:
    async with node.services.db.read() as session:
        items = await session.scalar(select(func.count()).select_from(InboxItem))
        follows = await session.scalar(select(func.count()).select_from(Follow))
    return items, follows


def _follow_body(a: Node, actor_id: str, target: str, activity_id: str | None = None) -> bytes:
    ident = activity_id or f"{a.base_url}/activities/01TESTFOLLOW"
    return orjson.dumps(build_follow(ident, actor_id, target))


async def test_valid_signed_follow_is_accepted(pair):
    """The control case: the same request, signed properly, is taken (so the others can fail)."""
    a, b, alice, _, chapter = pair
    inbox = f"{chapter.ap_id}/inbox"
    body = _follow_body(a, alice.ap_id, chapter.ap_id)
    signer = _key(a, alice)
    status, _ = await post(
        inbox, body, signed_post_headers(inbox, body, key_id=signer.key_id, key=signer.private_key)
    )
    assert status == 202
    assert (await _stored(b))[0] == 1


async def test_unsigned_post_is_401(pair):
    a, b, alice, _, chapter = pair
    body = _follow_body(a, alice.ap_id, chapter.ap_id)
    status, problem = await post(
        f"{b.base_url}/inbox", body, {"Content-Type": "application/activity+json"}
    )
    assert status == 401
    assert "no_signature" in problem["detail"]
    assert await _stored(b) == (0, 0)


async def test_unknown_algorithm_is_401(pair):
    a, b, alice, _, chapter = pair
    inbox = f"{b.base_url}/inbox"
    body = _follow_body(a, alice.ap_id, chapter.ap_id)
    signer = _key(a, alice)
    headers = signed_post_headers(inbox, body, key_id=signer.key_id, key=signer.private_key)
    headers["Signature"] = headers["Signature"].replace(
        'algorithm="rsa-sha256"', 'algorithm="rsa-md5"'
    )
    assert 'algorithm="rsa-md5"' in headers["Signature"]
    status, problem = await post(inbox, body, headers)
    assert status == 401
    assert "unsupported_algorithm" in problem["detail"]
    assert await _stored(b) == (0, 0)


async def test_digest_mismatch_is_401(pair):
    a, b, alice, _, chapter = pair
    inbox = f"{b.base_url}/inbox"
    body = _follow_body(a, alice.ap_id, chapter.ap_id)
    signer = _key(a, alice)
    headers = signed_post_headers(inbox, body, key_id=signer.key_id, key=signer.private_key)
    tampered = body.replace(b"01TESTFOLLOW", b"01TESTFOLLOX")
    status, problem = await post(inbox, tampered, headers)
    assert status == 401
    assert "digest_mismatch" in problem["detail"]
    assert await _stored(b) == (0, 0)


async def test_key_of_another_actor_is_403(pair):
    a, b, alice, mallory, chapter = pair
    inbox = f"{b.base_url}/inbox"
    body = _follow_body(a, alice.ap_id, chapter.ap_id)  # claims to be alice...
    signer = _key(a, mallory)  # ...signed by mallory
    status, problem = await post(
        inbox, body, signed_post_headers(inbox, body, key_id=signer.key_id, key=signer.private_key)
    )
    assert status == 403
    assert mallory.ap_id in problem["detail"]
    assert alice.ap_id in problem["detail"]
    assert await _stored(b) == (0, 0)


async def test_stale_date_is_401(pair):
    a, b, alice, _, chapter = pair
    inbox = f"{b.base_url}/inbox"
    body = _follow_body(a, alice.ap_id, chapter.ap_id)
    signer = _key(a, alice)
    headers = signed_post_headers(
        inbox,
        body,
        key_id=signer.key_id,
        key=signer.private_key,
        now=SystemClock().now() - timedelta(hours=2),
    )
    status, problem = await post(inbox, body, headers)
    assert status == 401
    assert "expired" in problem["detail"]
    assert await _stored(b) == (0, 0)


async def test_activity_id_on_another_host_is_403(pair):
    a, b, alice, _, chapter = pair
    inbox = f"{b.base_url}/inbox"
    body = _follow_body(
        a, alice.ap_id, chapter.ap_id, activity_id="http://127.0.0.2:9/activities/x"
    )
    signer = _key(a, alice)
    status, problem = await post(
        inbox, body, signed_post_headers(inbox, body, key_id=signer.key_id, key=signer.private_key)
    )
    assert status == 403
    assert "origin" in problem["detail"]
    assert await _stored(b) == (0, 0)


async def test_malformed_json_is_400(pair):
    a, b, alice, _, _ = pair
    inbox = f"{b.base_url}/inbox"
    body = b'{"type": "Follow", "actor": '
    signer = _key(a, alice)
    status, problem = await post(
        inbox, body, signed_post_headers(inbox, body, key_id=signer.key_id, key=signer.private_key)
    )
    assert status == 400
    assert "not valid JSON" in problem["detail"]
    assert await _stored(b) == (0, 0)


async def test_body_over_the_cap_is_413(pair):
    a, b, alice, _, chapter = pair
    inbox = f"{b.base_url}/inbox"
    doc = orjson.loads(_follow_body(a, alice.ap_id, chapter.ap_id))
    doc["summary"] = "x" * (b.services.settings.max_body_bytes + 1)
    body = orjson.dumps(doc)
    signer = _key(a, alice)
    status, problem = await post(
        inbox, body, signed_post_headers(inbox, body, key_id=signer.key_id, key=signer.private_key)
    )
    assert status == 413
    assert "limit" in problem["detail"]
    assert await _stored(b) == (0, 0)


async def test_wrong_content_type_is_415(pair):
    a, b, alice, _, chapter = pair
    inbox = f"{b.base_url}/inbox"
    body = _follow_body(a, alice.ap_id, chapter.ap_id)
    signer = _key(a, alice)
    headers = signed_post_headers(
        inbox, body, key_id=signer.key_id, key=signer.private_key, content_type="text/plain"
    )
    status, problem = await post(inbox, body, headers)
    assert status == 415
    assert "text/plain" in problem["detail"]
    assert await _stored(b) == (0, 0)


async def test_key_that_resolves_to_a_non_actor_is_401(pair):
    a, b, alice, _, chapter = pair
    inbox = f"{b.base_url}/inbox"
    body = _follow_body(a, alice.ap_id, chapter.ap_id)
    signer = _key(a, alice)
    # The key id points at alice's outbox: an ActivityPub document, but not an actor.
    headers = signed_post_headers(
        inbox, body, key_id=f"{alice.ap_id}/outbox#main-key", key=signer.private_key
    )
    status, problem = await post(inbox, body, headers)
    assert status == 401
    assert "not an actor" in problem["detail"]
    assert await _stored(b) == (0, 0)


async def test_unknown_recipient_is_404(pair):
    a, b, alice, _, chapter = pair
    inbox = f"{b.base_url}/actors/nobody/inbox"
    body = _follow_body(a, alice.ap_id, chapter.ap_id)
    signer = _key(a, alice)
    status, _ = await post(
        inbox, body, signed_post_headers(inbox, body, key_id=signer.key_id, key=signer.private_key)
    )
    assert status == 404
    assert await _stored(b) == (0, 0)
