"""Signature rules: absent, malformed, borrowed, undigested, stale, replayed.

Signature problems are 401 with the stable reason name in the detail; a header that cannot be
parsed costs the node no key fetch.
"""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from node.runtime.clock import SystemClock
from protocol.activities import build_follow
from tests.rig.hostile import HostileServer, send, standalone_key_document
from tests.rig.signing import signed_post_headers
from tests.security.helpers import (
    Honest,
    Target,
    assert_nothing_stored,
    assert_serves_honest,
    deliveries_settled,
    make_target,
    no_key_fetch,
    only_fetched,
    rows,
)


def _follow(hostile: HostileServer, target: Target, actor: str = "mallory") -> bytes:
    return orjson.dumps(
        build_follow(hostile.activity_id("follow"), hostile.actor_id(actor), target.chapter)
    )


async def test_unsigned_post_is_401_and_fetches_nothing(
    target: Target, hostile: HostileServer, honest: Honest
):
    body = _follow(hostile, target)
    before = await rows(target.node)
    reply = await send(target.inbox, body, {"Content-Type": "application/activity+json"})
    assert reply.status == 401
    assert "no_signature" in reply.detail
    assert reply.headers.get("WWW-Authenticate", "").startswith("Signature")
    # A Digest and Date alone are not a signature either.
    headers = hostile.signed_headers(target.inbox, body)
    del headers["Signature"]
    reply = await send(target.inbox, body, headers)
    assert reply.status == 401 and "no_signature" in reply.detail
    no_key_fetch(hostile)
    await assert_nothing_stored(target.node, before)
    await assert_serves_honest(target, honest)


MALFORMED_CAVAGE = [
    "garbage",
    'keyId="{kid}"',  # no signature
    'algorithm="rsa-sha256",headers="(request-target) host date digest",signature="AAAA"',  # no keyId
    'keyId="{kid}",signature="not base64 !!!"',
    'keyId="{kid}",signature="AAAA',  # unterminated quote
    'keyId="{kid}",keyId="{kid}",signature="AAAA"',  # repeated parameter
    'keyId="{kid}",headers="",signature="AAAA"',  # empty headers
    'keyId="{kid}" signature="AAAA"',  # no comma
    "keyId=,signature=",
    '"keyId"="{kid}"',
]


async def test_malformed_signature_headers_are_401_without_a_key_fetch(
    target: Target, hostile: HostileServer, honest: Honest
):
    body = _follow(hostile, target)
    kid = hostile.key_id("mallory")
    before = await rows(target.node)
    for template in MALFORMED_CAVAGE:
        headers = hostile.signed_headers(target.inbox, body)
        headers["Signature"] = template.format(kid=kid)
        reply = await send(target.inbox, body, headers)
        assert reply.status == 401, (template, reply)
        assert "malformed_signature" in reply.detail, (template, reply.detail)
    # The same for RFC 9421: an unparsable Signature-Input, a label without a signature.
    for signature_input, signature in (
        ("sig1=(", "sig1=:AAAA:"),
        ('sig1=("@method");keyid="' + kid + '"', "sig2=:AAAA:"),
        ('sig1=("@method")', "sig1=:AAAA:"),  # no keyid
        ('sig1=("@method");keyid="' + kid + '"', "sig1=AAAA"),  # not a byte sequence
    ):
        headers = hostile.signed_headers(target.inbox, body)
        del headers["Signature"]
        headers["Signature-Input"] = signature_input
        headers["Signature"] = signature
        reply = await send(target.inbox, body, headers)
        assert reply.status == 401, (signature_input, reply)
        assert "malformed_signature" in reply.detail, (signature_input, reply.detail)
    no_key_fetch(hostile)
    await assert_nothing_stored(target.node, before)
    await assert_serves_honest(target, honest)


async def test_valid_signature_by_a_key_whose_owner_is_not_the_actor_is_403(
    target: Target, hostile: HostileServer, honest: Honest
):
    before = await rows(target.node)
    # Claims to come from alice (a real member of an honest node), signed by mallory's key.
    body = orjson.dumps(
        build_follow(hostile.activity_id("follow"), honest.actor_id, target.chapter)
    )
    reply = await hostile.post(target.inbox, body, as_actor="mallory")
    assert reply.status == 403
    assert hostile.actor_id("mallory") in reply.detail and honest.actor_id in reply.detail
    # ...and claiming eve (same server, another actor) with mallory's key.
    body = _follow(hostile, target, actor="eve")
    reply = await hostile.post(target.inbox, body, as_actor="mallory")
    assert reply.status == 403
    assert hostile.actor_id("mallory") in reply.detail and hostile.actor_id("eve") in reply.detail
    # A standalone key document that names alice (on another origin) as its owner.
    kid = hostile.url("/keys/alice-borrowed")
    hostile.serve_json(
        "/keys/alice-borrowed", standalone_key_document(kid, honest.actor_id, hostile.key)
    )
    body = orjson.dumps(
        build_follow(hostile.activity_id("follow"), honest.actor_id, target.chapter)
    )
    reply = await hostile.post(target.inbox, body, key_id=kid)
    assert reply.status == 401
    assert "key_fetch_failed" in reply.detail and "another origin" in reply.detail
    # The node only read the hostile server's own documents (never alice's node on its behalf).
    assert set(hostile.gets()) <= {"/actors/mallory", "/keys/alice-borrowed"}
    assert [h for h in honest.node.hits if h.method == "GET"] == []
    await assert_nothing_stored(target.node, before, except_=("RemoteActor",))
    await assert_serves_honest(target, honest)


async def test_signature_without_digest_or_with_a_wrong_one_is_401(
    target: Target, hostile: HostileServer, honest: Honest
):
    body = _follow(hostile, target)
    before = await rows(target.node)
    # cavage: a POST whose signature does not cover the digest (the Digest header is there).
    headers = hostile.signed_headers(
        target.inbox, body, covered=["(request-target)", "host", "date"]
    )
    assert "Digest" in headers
    reply = await send(target.inbox, body, headers)
    assert reply.status == 401 and "missing_component" in reply.detail and "digest" in reply.detail
    # ...nor any Digest header at all.
    del headers["Digest"]
    reply = await send(target.inbox, body, headers)
    assert reply.status == 401 and "missing_component" in reply.detail
    # RFC 9421 without content-digest.
    headers = hostile.signed_headers(
        target.inbox, body, scheme="rfc9421", covered=["@method", "@target-uri"]
    )
    reply = await send(target.inbox, body, headers)
    assert reply.status == 401 and "missing_component" in reply.detail
    assert "content-digest" in reply.detail
    # A covered digest that does not match the body (cavage and RFC 9421).
    tampered = body.replace(b"Follow", b"Fallow")
    for scheme in ("cavage", "rfc9421"):
        headers = hostile.signed_headers(target.inbox, body, scheme=scheme)
        reply = await send(target.inbox, tampered, headers)
        assert reply.status == 401, (scheme, reply)
        assert "digest_mismatch" in reply.detail, (scheme, reply.detail)
    # A digest recomputed for the tampered body, but the signature still covers the old one.
    headers = hostile.signed_headers(target.inbox, body)
    headers["Digest"] = hostile.signed_headers(target.inbox, tampered)["Digest"]
    reply = await send(target.inbox, tampered, headers)
    assert reply.status == 401 and "invalid_signature" in reply.detail
    await assert_nothing_stored(target.node, before, except_=("RemoteActor",))
    assert set(hostile.gets()) <= {"/actors/mallory"}
    await assert_serves_honest(target, honest)


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
async def test_date_outside_the_window_on_either_side_is_401(
    target: Target, hostile: HostileServer, honest: Honest, scheme: str
):
    window = timedelta(seconds=target.node.services.settings.signature_window_seconds)
    now = SystemClock().now()
    before = await rows(target.node)
    for moment, words in (
        (now - window - timedelta(minutes=5), "outside the time window"),
        (now + window + timedelta(minutes=5), "too far in the future"),
    ):
        body = _follow(hostile, target)
        reply = await hostile.post(target.inbox, body, now=moment, scheme=scheme)
        assert reply.status == 401, (moment, reply)
        assert "expired" in reply.detail and words in reply.detail, reply.detail
    # Just inside the window on both sides is fine (the window is the rule, not "now").
    for moment in (now - window + timedelta(minutes=2), now + window - timedelta(minutes=2)):
        reply = await hostile.post(
            target.inbox, _follow(hostile, target), now=moment, scheme=scheme
        )
        assert reply.status == 202, (moment, reply)
    after = await rows(target.node)
    assert after["InboxItem"] == before["InboxItem"] + 2
    assert after["Follow"] <= before["Follow"] + 2
    only_fetched(hostile, "/actors/mallory")
    await assert_serves_honest(target, honest)


async def test_signature_replayed_to_another_inbox_path_is_401(
    nodes, target: Target, hostile: HostileServer, honest: Honest
):
    await target.node.chapter("riverside")
    body = _follow(hostile, target)
    headers = hostile.signed_headers(target.inbox, body)  # signed for greenpark's inbox
    before = await rows(target.node)
    for path in ("/inbox", "/actors/riverside/inbox", "/actors/greenpark/inbox?x=1"):
        reply = await send(f"{target.node.base_url}{path}", body, headers)
        assert reply.status == 401, (path, reply)
        assert "invalid_signature" in reply.detail, (path, reply.detail)
    await assert_nothing_stored(target.node, before, except_=("RemoteActor",))
    # The untouched request is fine where it was meant to go (so the replays could have passed).
    reply = await send(target.inbox, body, headers)
    assert reply.status == 202, reply
    only_fetched(hostile, "/actors/mallory")
    await assert_serves_honest(target, honest)


async def _captured_for_other_host(nodes, honest: Honest) -> tuple[Target, bytes]:
    other = await make_target(nodes)  # node C, with its own greenpark chapter
    follow = build_follow(honest.node.services.activity_id(), honest.actor_id, other.chapter)
    return other, orjson.dumps(follow)


def _capture(honest: Honest, url: str, body: bytes) -> dict[str, str]:
    signer = honest.node.services.keys.rsa_signer(honest.actor)
    return signed_post_headers(url, body, key_id=signer.key_id, key=signer.private_key)


async def test_signature_replayed_to_another_host_with_the_host_rewritten_is_401(
    nodes, target: Target, hostile: HostileServer, honest: Honest
):
    """An honest request for node C, replayed to node B with ``Host: B``: the signature
    covers the host, so it no longer verifies."""
    other, body = await _captured_for_other_host(nodes, honest)
    before = await rows(target.node)
    for url in (other.inbox, other.shared_inbox):
        captured = _capture(honest, url, body)
        assert captured["Host"] == other.node.authority
        replay_url = url.replace(other.node.base_url, target.node.base_url)
        rewritten = {**captured, "Host": target.node.authority}
        reply = await send(replay_url, body, rewritten)
        assert reply.status == 401, (replay_url, reply)
        assert "invalid_signature" in reply.detail
    await assert_nothing_stored(target.node, before, except_=("RemoteActor",))
    # The captured request is good where it was meant to go (so the replay could have passed).
    reply = await send(other.inbox, body, _capture(honest, other.inbox, body))
    assert reply.status == 202, reply
    await deliveries_settled(other.node)  # C's Accept to alice is out before anything stops
    no_key_fetch(hostile)
    await assert_serves_honest(target, honest)


async def test_signature_replayed_verbatim_to_another_host_is_401(
    nodes, target: Target, hostile: HostileServer, honest: Honest
):
    """An honest request for node C, captured and replayed to node B unchanged (its Host
    header still names C): B must not take a request that was not addressed to it."""
    other, body = await _captured_for_other_host(nodes, honest)
    before = await rows(target.node)
    for url in (other.inbox, other.shared_inbox):
        captured = _capture(honest, url, body)
        replay_url = url.replace(other.node.base_url, target.node.base_url)
        reply = await send(replay_url, body, captured)
        assert reply.status == 401, (replay_url, reply)
        assert "invalid_signature" in reply.detail, reply.detail
    await assert_nothing_stored(target.node, before, except_=("RemoteActor",))
    no_key_fetch(hostile)
    await assert_serves_honest(target, honest)
