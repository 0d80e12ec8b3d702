"""Size, parse, depth and content-type rules: refused before any key fetch or storage.

Every hostile request here is signed by a genuine actor on a real server (the hostile one), so
the only fault is the one under test.
"""

from __future__ import annotations

import gzip

import orjson
import pytest

from protocol.activities import build_follow
from tests.rig.hostile import HostileServer, send
from tests.rig.raw_http import post_unfinished
from tests.security.helpers import (
    Honest,
    Target,
    assert_nothing_stored,
    assert_serves_honest,
    no_key_fetch,
    rows,
)


def _follow(hostile: HostileServer, target: Target) -> dict:
    return build_follow(hostile.activity_id("follow"), hostile.actor_id("mallory"), target.chapter)


async def test_non_json_bodies_are_400_before_the_key_is_fetched(
    target: Target, hostile: HostileServer, honest: Honest
):
    before = await rows(target.node)
    bodies = [
        b"hello",
        b"<html><body>not json</body></html>",
        b"\xff\xfe\x00\x01binary",
        b"",
        b"{'single': 'quotes'}",
        b'{"type": "Follow", "a": NaN}',
        b'{"type": "Follow"} trailing',
        b'{"type": "Follow", "type": ',
    ]
    for body in bodies:
        reply = await hostile.post(target.shared_inbox, body)
        assert reply.status == 400, (body, reply)
        assert "not valid JSON" in reply.detail, (body, reply.detail)
    for body in (b"[]", b"null", b'"a string"', b"42", b"[{}]"):
        reply = await hostile.post(target.shared_inbox, body)
        assert reply.status == 400, (body, reply)
        assert "must be a JSON object" in reply.detail, (body, reply.detail)
    no_key_fetch(hostile)
    await assert_nothing_stored(target.node, before)
    await assert_serves_honest(target, honest)


async def test_truncated_bodies_are_400(target: Target, hostile: HostileServer, honest: Honest):
    body = orjson.dumps(_follow(hostile, target))
    before = await rows(target.node)
    for cut in (1, len(body) // 4, len(body) // 2, len(body) - 1):
        truncated = body[:cut]
        reply = await hostile.post(target.inbox, truncated)  # signed over the truncated bytes
        assert reply.status == 400, (cut, reply)
        assert "not valid JSON" in reply.detail
    no_key_fetch(hostile)
    await assert_nothing_stored(target.node, before)
    await assert_serves_honest(target, honest)


async def test_declared_length_over_the_cap_is_refused_without_reading_the_body(
    target: Target, hostile: HostileServer, honest: Honest
):
    cap = target.node.services.settings.max_body_bytes
    declared = 50 * 1024 * 1024
    prefix = orjson.dumps(_follow(hostile, target))
    headers = hostile.signed_headers(target.inbox, prefix)
    before = await rows(target.node)
    # Only the first few hundred bytes of the 50 MB are ever sent: an answer proves the node
    # decided from Content-Length alone.
    reply = await post_unfinished(
        target.inbox, headers, prefix, chunked=False, declared_length=declared, timeout=5
    )
    assert reply.status == 413
    assert str(declared) in reply.detail and str(cap) in reply.detail
    no_key_fetch(hostile)
    await assert_nothing_stored(target.node, before)
    await assert_serves_honest(target, honest)


async def test_chunked_body_over_the_cap_is_refused_before_it_ends(
    target: Target, hostile: HostileServer, honest: Honest
):
    cap = target.node.services.settings.max_body_bytes
    doc = _follow(hostile, target)
    doc["summary"] = "x" * (cap + 256 * 1024)
    body = orjson.dumps(doc)
    headers = hostile.signed_headers(target.inbox, body)
    before = await rows(target.node)
    # The whole body is written in chunks, but the terminating chunk never is: the node must
    # answer once it has read more than the cap, not wait for the end.
    reply = await post_unfinished(target.inbox, headers, body, chunked=True, timeout=5)
    assert reply.status == 413
    assert "exceeds" in reply.detail and str(cap) in reply.detail
    no_key_fetch(hostile)
    await assert_nothing_stored(target.node, before)
    await assert_serves_honest(target, honest)


async def test_gzip_bomb_is_capped_on_the_decompressed_size(
    target: Target, hostile: HostileServer, honest: Honest
):
    """A 64 MB body compressed to a few kB: the cap applies to what the node would parse."""
    cap = target.node.services.settings.max_body_bytes
    doc = _follow(hostile, target)
    doc["summary"] = " " * (64 * 1024 * 1024)
    compressed = gzip.compress(orjson.dumps(doc), compresslevel=9)
    assert len(compressed) < cap // 4
    headers = hostile.signed_headers(target.inbox, compressed)
    headers["Content-Encoding"] = "gzip"
    before = await rows(target.node)
    reply = await send(target.inbox, compressed, headers)
    assert reply.status == 413, reply
    assert str(cap) in reply.detail
    no_key_fetch(hostile)
    await assert_nothing_stored(target.node, before)
    await assert_serves_honest(target, honest)


@pytest.mark.parametrize("container", ["object", "array"])
async def test_json_nested_10000_deep_is_400(
    target: Target, hostile: HostileServer, honest: Honest, container: str
):
    depth = 10_000
    opener, closer = (b'{"a":', b"}") if container == "object" else (b"[", b"]")
    body = b'{"type": "Follow", "object": ' + opener * depth + b"1" + closer * depth + b"}"
    before = await rows(target.node)
    reply = await hostile.post(target.inbox, body)
    assert reply.status == 400, reply
    assert "JSON" in reply.detail
    # Deep, but well within what the JSON parser accepts: the node's own depth rule refuses it.
    moderate = b'{"type": "Follow", "object": ' + opener * 40 + b"1" + closer * 40 + b"}"
    reply = await hostile.post(target.inbox, moderate)
    assert reply.status == 400, reply
    assert "nested deeper than" in reply.detail
    no_key_fetch(hostile)
    await assert_nothing_stored(target.node, before)
    await assert_serves_honest(target, honest)


async def test_content_types_other_than_activitypub_json_are_415(
    target: Target, hostile: HostileServer, honest: Honest
):
    body = orjson.dumps(_follow(hostile, target))
    before = await rows(target.node)
    for media in (
        "text/plain",
        "text/html",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        None,
    ):
        headers = hostile.signed_headers(target.inbox, body, content_type=media)
        if media is None:
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        reply = await send(target.inbox, body, headers)
        assert reply.status == 415, (media, reply)
        named = (media or "none").split(";")[0]
        if media is None:
            # aiohttp's client labels a bytes body application/octet-stream when none is given
            named = "application/octet-stream"
        assert named in reply.detail, (media, reply.detail)
    no_key_fetch(hostile)
    await assert_nothing_stored(target.node, before)
    # The rule is about the media type, not its parameters: this one is taken.
    reply = await hostile.post(
        target.inbox, body, content_type="application/activity+json; charset=utf-8"
    )
    assert reply.status == 202, reply
    await assert_serves_honest(target, honest)
