"""Hostile answers to the fetches a signature makes the node do, and keyIds aimed elsewhere.

The key behind a signature is fetched from the ``keyId`` (and, for a standalone key document,
its owner's actor document). Each bad answer must end in ``401 key_fetch_failed``, cache
nothing, cost a bounded amount of reading, and never lead the node to an address it may not
contact.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
import pytest

from protocol.activities import build_follow
from tests.rig.hostile import HostileServer, standalone_key_document
from tests.rig.outbound import watch_outbound
from tests.security.helpers import (
    Honest,
    Target,
    assert_nothing_stored,
    assert_serves_honest,
    make_honest,
    make_target,
    no_key_fetch,
    rows,
)

BIG = 50 * 1024 * 1024


def _follow(hostile: HostileServer, target: Target) -> bytes:
    return orjson.dumps(
        build_follow(hostile.activity_id("follow"), hostile.actor_id("mallory"), target.chapter)
    )


# -- what the bad path answers ----------------------------------------------------------------
# Each sets up ``path`` on the server and returns the words the refusal must contain.


def _genuine(server: HostileServer, path: str, key_id: str, honest: Honest) -> str:
    doc = server.actor_document("mallory")
    doc["id"] = server.url(path)
    doc["publicKey"] = {**doc["publicKey"], "id": key_id, "owner": doc["id"]}
    server.serve_json(path, doc)
    return ""


def _html(server: HostileServer, path: str, key_id: str, honest: Honest) -> str:
    server.serve_text(path, "<!doctype html><title>mallory</title><h1>Profile</h1>")
    return "text/html"


def _json_labelled_html(server: HostileServer, path: str, key_id: str, honest: Honest) -> str:
    doc = server.actor_document("mallory")
    doc["id"] = server.url(path)
    doc["publicKey"] = {**doc["publicKey"], "id": key_id, "owner": doc["id"]}
    server.serve_json(path, doc, content_type="text/html")
    return "text/html"


def _id_is_another_path(server: HostileServer, path: str, key_id: str, honest: Honest) -> str:
    # Served at ``path``, claims to be /actors/mallory (same origin), listing the keyId.
    server.serve_wrong_id(path, server.actor_id("mallory"), key_id=key_id)
    return "claims to be"


def _id_is_another_origin(server: HostileServer, path: str, key_id: str, honest: Honest) -> str:
    # Claims to be alice (a member of an honest node), served by the hostile one.
    server.serve_wrong_id(path, honest.actor_id)
    return "claims to be"


def _huge_streamed(server: HostileServer, path: str, key_id: str, honest: Honest) -> str:
    server.serve_stream(path, BIG)
    return "larger than"


def _huge_declared(server: HostileServer, path: str, key_id: str, honest: Honest) -> str:
    server.serve_stream(path, BIG, declare_length=True)
    return "larger than"


def _redirect_loop(server: HostileServer, path: str, key_id: str, honest: Honest) -> str:
    server.serve_redirect_loop(path)
    return "redirects"


def _redirect_ping_pong(server: HostileServer, path: str, key_id: str, honest: Honest) -> str:
    server.serve_redirect_loop(path, hops=2)
    return "redirects"


ANSWERS: dict[str, Callable[[HostileServer, str, str, Honest], str]] = {
    "html": _html,
    "json-labelled-html": _json_labelled_html,
    "id-is-another-path": _id_is_another_path,
    "id-is-another-origin": _id_is_another_origin,
    "50MB-streamed": _huge_streamed,
    "50MB-declared": _huge_declared,
    "redirect-loop": _redirect_loop,
    "redirect-ping-pong": _redirect_ping_pong,
}


@pytest.mark.parametrize("stage", ["key", "actor"])
@pytest.mark.parametrize("answer", ["genuine", *ANSWERS])
async def test_hostile_answers_to_key_and_actor_fetches(
    nodes, hostile: HostileServer, honest: Honest, stage: str, answer: str
):
    """``stage=key``: the keyId's own URL answers badly. ``stage=actor``: the keyId serves a
    standalone key document, and its owner's actor URL answers badly."""
    # A long fetch timeout, so that a refusal that waited for it cannot pass for a prompt one.
    target = await make_target(nodes, fetch_timeout_seconds=30)
    bad_path = "/bad/actor"
    if stage == "key":
        key_id = hostile.url(bad_path) + "#main-key"
    else:
        key_id = hostile.url("/keys/k1")
        hostile.serve_json(
            "/keys/k1", standalone_key_document(key_id, hostile.url(bad_path), hostile.key)
        )
    setup = _genuine if answer == "genuine" else ANSWERS[answer]
    words = setup(hostile, bad_path, key_id, honest)
    activity = build_follow(hostile.activity_id("follow"), hostile.url(bad_path), target.chapter)
    before = await rows(target.node)
    started = time.monotonic()
    reply = await hostile.post(target.inbox, activity, key_id=key_id)
    elapsed = time.monotonic() - started
    if answer == "genuine":  # the control: the same path, answered properly, is taken
        assert reply.status == 202, reply
        await assert_serves_honest(target, honest)
        return
    assert reply.status == 401, reply
    assert "key_fetch_failed" in reply.detail and words in reply.detail, reply.detail
    await assert_nothing_stored(target.node, before)  # nothing cached, either
    # What the node read from the hostile server, and how much.
    allowed_paths = {bad_path, bad_path + "/1", "/keys/k1"}
    assert set(hostile.gets()) <= allowed_paths, hostile.gets()
    assert len(hostile.gets()) <= 7  # one key document + at most 6 hops of a redirect chain
    if answer.startswith("50MB"):
        sent = hostile.streamed.get(bad_path, 0)
        assert sent < 16 * 1024 * 1024, f"the node let the server write {sent} bytes"
    assert elapsed < 10, f"the refusal took {elapsed:.1f}s"
    assert [h for h in honest.node.hits if h.method == "GET"] == []
    await assert_serves_honest(target, honest)


async def test_key_ids_on_forbidden_schemes_and_addresses_are_never_fetched(
    nodes, hostile: HostileServer, honest: Honest
):
    target = await make_target(nodes, fetch_timeout_seconds=1.5)
    outbound = watch_outbound(target.node)
    port = hostile.port
    key_ids = [
        "file:///etc/passwd#main-key",
        "file://127.0.0.1/etc/passwd",
        "ftp://127.0.0.1/key",
        "gopher://127.0.0.1:70/key",
        "data:application/json,{}",
        "http://169.254.169.254/latest/meta-data/iam#main-key",
        f"http://169.254.169.254:{port}/actors/mallory#main-key",
        "http://[fe80::1]/actors/mallory#main-key",
        f"http://0.0.0.0:{port}/actors/mallory#main-key",
        "mallory",
        "",
    ]
    before = await rows(target.node)
    for key_id in key_ids:
        body = _follow(hostile, target)
        headers = hostile.signed_headers(target.inbox, body, key_id=key_id or "x")
        if not key_id:
            headers["Signature"] = headers["Signature"].replace('keyId="x"', 'keyId=""')
        reply = await hostile.post(target.inbox, body, headers=headers)
        assert reply.status == 401, (key_id, reply)
        assert "key_fetch_failed" in reply.detail or "malformed_signature" in reply.detail, (
            key_id,
            reply.detail,
        )
    for host in ("169.254.169.254", "[fe80::1]", "0.0.0.0", "127.0.0.1:70"):
        assert outbound.attempted(host) == [], (host, outbound.to_host(host))
    assert [r.url for r in outbound.requests if not r.guarded] == []
    no_key_fetch(hostile)
    await assert_nothing_stored(target.node, before)
    await assert_serves_honest(target, honest)


NUMERIC_LOOPBACK = ["2130706433", "0x7f000001", "017700000001", "127.1", "0177.0.0.1", "0x7f.1"]


async def test_key_ids_on_non_canonical_loopback_spellings_are_never_fetched(
    target: Target, hostile: HostileServer, honest: Honest
):
    """``http://2130706433:PORT/`` is 127.0.0.1 to the system resolver: never followed,
    even by a node that allows private networks."""
    outbound = watch_outbound(target.node)
    before = await rows(target.node)
    for host in NUMERIC_LOOPBACK:
        key_id = f"http://{host}:{hostile.port}/actors/mallory#main-key"
        reply = await hostile.post(target.inbox, _follow(hostile, target), key_id=key_id)
        assert reply.status == 401, (host, reply)
        assert "key_fetch_failed" in reply.detail, (host, reply.detail)
        assert outbound.attempted(f"{host}:{hostile.port}") == [], host
    no_key_fetch(hostile)
    await assert_nothing_stored(target.node, before)
    await assert_serves_honest(target, honest)


async def test_redirects_to_forbidden_schemes_and_link_local_are_not_followed(
    nodes, hostile: HostileServer, honest: Honest
):
    target = await make_target(nodes, fetch_timeout_seconds=1.5)
    outbound = watch_outbound(target.node)
    before = await rows(target.node)
    for i, location in enumerate(
        [
            "file:///etc/passwd",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]/actor",
            f"http://2130706433:{hostile.port}/actors/mallory",
        ]
    ):
        path = f"/redirect/{i}"
        hostile.serve_redirect(path, location)
        reply = await hostile.post(
            target.inbox, _follow(hostile, target), key_id=hostile.url(path) + "#main-key"
        )
        assert reply.status == 401, (location, reply)
        assert "key_fetch_failed" in reply.detail
    for host in ("169.254.169.254", "[fe80::1]", f"2130706433:{hostile.port}"):
        assert outbound.attempted(host) == [], (host, outbound.to_host(host))
    assert sorted(hostile.gets()) == [f"/redirect/{i}" for i in range(4)]
    await assert_nothing_stored(target.node, before)
    await assert_serves_honest(target, honest)


async def test_redirect_to_a_loopback_address_off_the_allowlist_is_not_followed(nodes):
    """The hostile server is allow-listed; the redirect target (another loopback port, an
    "internal" service that records hits) is not. Nothing may reach the internal service."""
    hostile = await HostileServer().start()
    internal = await HostileServer().start()
    try:
        hostile.add_actor("mallory")
        internal.add_actor("mallory")
        honest = await make_honest(nodes)
        allow = f"127.0.0.1:{hostile.port},127.0.0.1:{honest.node.port}"
        target = await make_target(nodes, private_network_allowlist=allow)
        before = await rows(target.node)
        hostile.serve_redirect("/actors/redir", internal.url("/actors/mallory"))
        reply = await hostile.post(
            target.inbox, _follow(hostile, target), key_id=hostile.url("/actors/redir#main-key")
        )
        assert reply.status == 401, reply
        assert "key_fetch_failed" in reply.detail
        # A keyId naming the internal service directly is refused the same way.
        reply = await hostile.post(
            target.inbox, _follow(hostile, target), key_id=internal.key_id("mallory")
        )
        assert reply.status == 401 and "key_fetch_failed" in reply.detail
        # The actor fetch behind a standalone key document, redirected the same way.
        key_id = hostile.url("/keys/k2")
        hostile.serve_json(
            "/keys/k2", standalone_key_document(key_id, hostile.url("/actors/redir2"), hostile.key)
        )
        hostile.serve_redirect("/actors/redir2", internal.url("/actors/mallory"), status=307)
        reply = await hostile.post(target.inbox, _follow(hostile, target), key_id=key_id)
        assert reply.status == 401 and "key_fetch_failed" in reply.detail
        assert internal.seen == [], [s.path for s in internal.seen]
        assert hostile.gets() == ["/actors/redir", "/keys/k2", "/actors/redir2"]
        await assert_nothing_stored(target.node, before)
        # The allow-listed server itself is still reachable: its genuine key works.
        reply = await hostile.post(target.inbox, _follow(hostile, target))
        assert reply.status == 202, reply
        await assert_serves_honest(target, honest)
    finally:
        await hostile.stop()
        await internal.stop()
