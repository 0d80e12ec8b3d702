"""Keys, round two: a replaced key stops working everywhere, cached keys expire, a signature no
key could verify costs no fetch, one signature per request, junk requests naming an honest
peer's key neither hammer that peer nor get it refused, and a key whose actor answers 410 marks
that actor gone while its ``Delete`` still counts.

Real nodes on loopback (one of them as a web process and a worker process on one database);
the peers are loopback servers that record every request they receive.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import orjson
import pytest
from aiohttp import web
from multidict import CIMultiDict
from sqlalchemy import select

from node.federation.resolver import SUPERSEDED_POLL_SECONDS, store_actor_row
from node.ops.cluster import NodeProcess, spawn, stop_processes
from node.runtime.clock import FrozenClock
from protocol.activities import build_follow, build_update
from protocol.actors import parse_actor
from protocol.httpsig import HttpRequest, sign_request_rfc9421
from protocol.jsonld import CONTEXT, PUBLIC
from protocol.keys import PrivateKey, generate_rsa_key, public_key_to_pem
from storage.engine import Database, open_database
from storage.models import Follow, RemoteActor
from storage.repositories import actors as actor_repo
from storage.repositories import keys as key_repo
from tests.rig.database import fresh_database_url
from tests.rig.hostile import AP, HostileServer, Reply, send
from tests.rig.nodes import acli, eventually, free_port
from tests.security.helpers import (
    Target,
    assert_nothing_stored,
    make_target,
    no_key_fetch,
    rows,
)


def _follow(server: HostileServer, chapter: str, actor: str = "mallory") -> bytes:
    return orjson.dumps(build_follow(server.activity_id("follow"), server.actor_id(actor), chapter))


def _rotate(server: HostileServer, name: str, key_id: str | None) -> tuple[PrivateKey, dict]:
    """The peer replaces ``name``'s key (under a new key id, or the same one) and serves it."""
    key = generate_rsa_key(2048)
    doc = server.actor_document(name, key=key)
    if key_id is not None:
        doc["publicKey"]["id"] = key_id
    server.serve_json(f"/actors/{name}", doc)
    return key, doc


async def _stored_key_id(db: Database, actor: str) -> str | None:
    async with db.read() as session:
        row = await actor_repo.remote_actor(session, actor)
    return row.public_key_id if row is not None else None


async def _stores_key(db: Database, actor: str, key_id: str, key: PrivateKey) -> bool:
    """Whether the row of ``actor`` lists ``key`` under ``key_id``."""
    async with db.read() as session:
        row = await actor_repo.remote_actor(session, actor)
    pem = public_key_to_pem(key.public_key())  # type: ignore[arg-type]
    return row is not None and row.public_key_id == key_id and row.public_key_pem == pem


async def _rotate_and_announce(
    server: HostileServer, inbox: str, *, same_id: bool = False
) -> tuple[str, PrivateKey, str, PrivateKey]:
    """mallory (already known to the node) moves to a new key (under a new key id, or the same
    one as Mastodon does) and sends the ``Update`` signed with the old key, so the node verifies
    it from its cache and only its inbox worker reads the new key. Returns (old id, old key,
    new id, new key)."""
    old_id, old_key = server.key_id("mallory"), server.key
    new_id = old_id if same_id else f"{server.actor_id('mallory')}#key-2"
    new_key, doc = _rotate(server, "mallory", None if same_id else new_id)
    update = build_update(server.activity_id("update"), server.actor_id("mallory"), doc)
    reply = await server.post(inbox, update, key_id=old_id, key=old_key)
    assert reply.status == 202, reply
    return old_id, old_key, new_id, new_key


# -- (1) a rotation: the old key is refused, in this process and in others -------------------


async def test_after_a_key_rotation_update_the_old_key_is_refused(
    target: Target, hostile: HostileServer
):
    reply = await hostile.post(target.inbox, _follow(hostile, target.chapter))
    assert reply.status == 202, reply  # mallory's key is now cached
    old_id, old_key, new_id, new_key = await _rotate_and_announce(hostile, target.inbox)

    async def handled() -> bool:
        return await _stored_key_id(target.node.services.db, hostile.actor_id("mallory")) == new_id

    await eventually(handled, what="the inbox worker to handle the Update")
    fetched = len(hostile.gets())
    before = await rows(target.node)
    for scheme in ("cavage", "rfc9421"):
        body = _follow(hostile, target.chapter)
        reply = await hostile.post(target.inbox, body, key_id=old_id, key=old_key, scheme=scheme)
        assert reply.status == 401, (scheme, reply)
        assert "key_superseded" in reply.detail, reply.detail
    assert len(hostile.gets()) == fetched  # refused without asking the peer
    await assert_nothing_stored(target.node, before)
    async with target.node.services.db.read() as session:
        assert await actor_repo.remote_actor_by_key_id(session, old_id) is None
        assert await key_repo.is_superseded(session, old_id)
        assert not await key_repo.is_superseded(session, new_id)
    # The new key works, read from the stored Update (no fetch).
    reply = await hostile.post(
        target.inbox, _follow(hostile, target.chapter), key_id=new_id, key=new_key
    )
    assert reply.status == 202, reply
    assert len(hostile.gets()) == fetched


@pytest.mark.parametrize("same_id", [False, True], ids=["new-key-id", "same-key-id"])
async def test_a_web_process_refuses_a_key_its_worker_process_saw_replaced(
    tmp_path, hostile, same_id
):
    """``serve --workers 0`` verifies signatures; ``worker`` handles the Update. The web process
    learns of the replaced key from the database, within a poll (2 s), not after its
    ``key_cache_seconds`` (300 s): also when the key id stayed and only the key changed."""
    data = tmp_path / "node"
    port = free_port()
    env = {"CHAPTERHOUSE_DATABASE_URL": await fresh_database_url(data)}
    base = f"http://127.0.0.1:{port}"
    await acli("init", "--data", str(data), "--base-url", base, "--allow-private-network", env=env)
    created = await acli("chapter", "create", "greenpark", "--data", str(data), env=env)
    chapter = created.stdout.strip()
    inbox = f"{chapter}/inbox"
    web = NodeProcess(
        data, port, env=env, serve_args=("--workers", "0"), log_file=tmp_path / "web.log"
    )
    web.spawn()
    worker = spawn(
        ["worker", "--data", str(data)], env={**os.environ, **env}, log=tmp_path / "worker.log"
    )
    db = open_database(env["CHAPTERHOUSE_DATABASE_URL"])
    try:
        await asyncio.to_thread(web.wait_listening)
        reply = await hostile.post(inbox, _follow(hostile, chapter))
        assert reply.status == 202, reply  # the web process has mallory's key in memory
        old_id, old_key, new_id, new_key = await _rotate_and_announce(
            hostile, inbox, same_id=same_id
        )

        async def handled() -> bool:
            return await _stores_key(db, hostile.actor_id("mallory"), new_id, new_key)

        await eventually(handled, timeout=30, what="the worker process to handle the Update")
        await asyncio.sleep(SUPERSEDED_POLL_SECONDS + 0.5)  # the web process reads the table
        fetched = len(hostile.gets())
        reply = await hostile.post(inbox, _follow(hostile, chapter), key_id=old_id, key=old_key)
        assert reply.status == 401, reply
        if same_id:  # the id is still mallory's: the new key (from the row) does not verify it
            assert "invalid_signature" in reply.detail, reply.detail
            assert len(hostile.gets()) <= fetched + 1  # at most the refetch any failure earns
        else:
            assert "key_superseded" in reply.detail, reply.detail
            assert len(hostile.gets()) == fetched
        reply = await hostile.post(inbox, _follow(hostile, chapter), key_id=new_id, key=new_key)
        assert reply.status == 202, reply
    finally:
        await asyncio.to_thread(stop_processes, [web.process, worker])
        await db.dispose()


# -- (2) cached keys expire --------------------------------------------------------------------


async def test_a_cached_key_is_read_again_from_the_database_after_key_cache_seconds(
    nodes, hostile: HostileServer
):
    clock = FrozenClock(datetime.now(UTC))
    target = await make_target(nodes, clock=clock, key_cache_seconds=60)
    reply = await hostile.post(target.inbox, _follow(hostile, target.chapter))
    assert reply.status == 202, reply
    assert hostile.gets() == ["/actors/mallory"]
    # mallory rotates under the same key id; another process (a worker that handled the
    # Update) stores the new document in the shared database.
    new_key, doc = _rotate(hostile, "mallory", None)
    other = open_database(target.node.services.settings.database_url)
    try:
        async with other.write() as session:
            await store_actor_row(
                session,
                parse_actor(doc, allow_http=True),
                doc,
                clock.now(),
                retire_for=timedelta(seconds=60),
            )
    finally:
        await other.dispose()

    clock.advance(timedelta(seconds=61))
    reply = await hostile.post(target.inbox, _follow(hostile, target.chapter), key=new_key)
    assert reply.status == 202, reply
    assert hostile.gets() == ["/actors/mallory"]  # re-read from the database, not refetched
    reply = await hostile.post(
        target.inbox, _follow(hostile, target.chapter), key=generate_rsa_key(2048)
    )
    assert reply.status == 401 and "invalid_signature" in reply.detail


# -- (3) an algorithm no key could verify costs no fetch ---------------------------------------


async def test_an_unsupported_algorithm_is_refused_before_any_key_fetch(
    target: Target, hostile: HostileServer
):
    body = _follow(hostile, target.chapter)
    before = await rows(target.node)
    for alg in ("hmac-sha256", "ecdsa-sha256", "rsa-sha512"):
        headers = hostile.signed_headers(target.inbox, body)
        assert 'algorithm="rsa-sha256"' in headers["Signature"]
        headers["Signature"] = headers["Signature"].replace("rsa-sha256", alg)
        reply = await send(target.inbox, body, headers)
        assert reply.status == 401, (alg, reply)
        assert "unsupported_algorithm" in reply.detail, reply.detail
    for alg in ("hmac-sha256", "ecdsa-p256-sha256"):
        request = HttpRequest.from_mapping("POST", target.inbox, {"Content-Type": AP}, body)
        signed = sign_request_rfc9421(
            request,
            key_id=hostile.key_id("mallory"),
            private_key=hostile.key,
            now=datetime.now(UTC),
            algorithm="rsa-v1_5-sha256",
        )
        headers = {
            k: v.replace("rsa-v1_5-sha256", alg) if k == "Signature-Input" else v
            for k, v in signed.headers
        }
        reply = await send(target.inbox, body, headers)
        assert reply.status == 401, (alg, reply)
        assert "unsupported_algorithm" in reply.detail, reply.detail
    no_key_fetch(hostile)
    await assert_nothing_stored(target.node, before)


# -- (4) exactly one signature ------------------------------------------------------------------


async def test_a_request_carrying_two_signatures_is_refused(target: Target, hostile: HostileServer):
    body = _follow(hostile, target.chapter)
    before = await rows(target.node)
    first = HttpRequest.from_mapping(
        "POST",
        target.inbox,
        tuple(hostile.signed_headers(target.inbox, body, scheme="rfc9421").items()),
        body,
    )
    now = datetime.now(UTC)
    second_actor = sign_request_rfc9421(
        first, key_id=hostile.key_id("eve"), private_key=hostile.key, now=now, label="sig2"
    )
    garbage = HttpRequest.from_mapping(
        "POST",
        target.inbox,
        (
            *first.headers,
            ("Signature-Input", f'sig2=("@method");keyid="{hostile.key_id("eve")}"'),
            ("Signature", "sig2=:AAAA:"),
        ),
        body,
    )
    cavage = hostile.signed_headers(target.inbox, body)
    eve_cavage = hostile.signed_headers(target.inbox, body, as_actor="eve")
    both_schemes = [*cavage.items(), ("Authorization", f"Signature {eve_cavage['Signature']}")]
    for name, headers in (
        ("two RFC 9421 signatures", list(second_actor.headers)),
        ("a valid one and garbage", list(garbage.headers)),
        ("Signature and Authorization", both_schemes),
    ):
        reply = await _send_pairs(target.inbox, body, headers)
        assert reply.status == 401, (name, reply)
        assert "multiple_signatures" in reply.detail, (name, reply.detail)
    no_key_fetch(hostile)
    await assert_nothing_stored(target.node, before)
    # Each signature alone is fine (so the refusals are about the count).
    reply = await send(target.inbox, body, dict(first.headers))
    assert reply.status == 202, reply


async def _send_pairs(url: str, body: bytes, headers: list[tuple[str, str]]) -> Reply:
    """POST with header lines as given (a dict would fold the two Signature lines)."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=CIMultiDict(headers), allow_redirects=False) as resp,
    ):
        problem = await resp.json(content_type=None)
        return Reply(resp.status, problem if isinstance(problem, dict) else {}, dict(resp.headers))


# -- (5) junk naming an honest peer's key -----------------------------------------------------


async def test_junk_naming_an_honest_peers_key_is_held_to_the_fetch_cap(target: Target):
    peer = await HostileServer().start()  # an honest peer: it signs correctly
    try:
        await _junk_flood(target, peer)
    finally:
        await peer.stop()


async def _junk_flood(target: Target, peer: HostileServer) -> None:
    cap = target.node.services.settings.key_fetches_per_origin_per_minute
    peer.add_actor("ann")
    junk_key = generate_rsa_key(2048)

    async def junk(name: str) -> Reply:
        return await peer.post(
            target.inbox,
            _follow(peer, target.chapter, name),
            key_id=peer.key_id(name),
            key=junk_key,
        )

    before = await rows(target.node)
    started = time.monotonic()
    for _ in range(60):  # the cache is cold; each bad signature asks for a refetch
        reply = await junk("ann")
        assert reply.status == 401, reply
    elapsed = time.monotonic() - started
    allowed = cap + math.ceil(elapsed * cap / 60)  # the burst, plus what refilled meanwhile
    fetches = len(peer.hits("/actors/ann", "GET"))
    assert fetches <= allowed, f"{fetches} fetches of ann's key for 60 junk requests"
    await assert_nothing_stored(target.node, before, except_=("RemoteActor",))

    # While the origin is over the cap, junk naming a key never fetched costs nothing...
    victim = await _capped_junk(peer, junk)
    # ann's own request is verified with the key fetched last.
    reply = await peer.post(target.inbox, _follow(peer, target.chapter, "ann"), as_actor="ann")
    assert reply.status == 202, reply
    # ...and is not remembered as that key's failure: once a fetch is allowed, its owner gets in.
    await asyncio.sleep(60 / cap + 0.5)
    reply = await peer.post(target.inbox, _follow(peer, target.chapter, victim), as_actor=victim)
    assert reply.status == 202, reply
    assert len(peer.hits(f"/actors/{victim}", "GET")) == 1


async def _capped_junk(peer: HostileServer, junk: Callable[[str], Awaitable[Reply]]) -> str:
    """Junk naming a fresh actor's key while the origin's fetch budget is spent; its name.

    The budget refills continuously, so a token may come back between emptying it and the
    junk request: then that actor's key was fetched, and the next actor is tried."""
    for name in ("ben", "cy", "dee", "eli", "fay"):
        peer.add_actor(name)
        while "cap" not in (await junk("ann")).detail:
            pass  # empty the bucket, whatever refilled meanwhile
        reply = await junk(name)
        assert reply.status == 401, reply
        if "cap" in reply.detail:
            assert peer.hits(f"/actors/{name}") == []
            return name
        assert len(peer.hits(f"/actors/{name}", "GET")) == 1  # lost the race to a refill
    raise AssertionError("the fetch cap never refused a junk request")


# -- (6) a deleted account: its key answers 410 -------------------------------------------------


async def _gone(_: web.Request) -> web.StreamResponse:
    return web.Response(status=410, text="this account is gone")


def _delete_self(server: HostileServer, name: str) -> dict:
    """How Mastodon announces a deleted account: a Delete whose object is the actor itself."""
    actor = server.actor_id(name)
    return {
        "@context": CONTEXT,
        "id": f"{actor}#delete",
        "type": "Delete",
        "actor": actor,
        "object": actor,
        "to": [PUBLIC],
    }


async def _remote_actor(target: Target, actor: str) -> RemoteActor | None:
    async with target.node.services.db.read() as session:
        return await actor_repo.remote_actor(session, actor)


async def _follows_of(target: Target, actor: str) -> list[str]:
    async with target.node.services.db.read() as session:
        return list(await session.scalars(select(Follow.target).where(Follow.follower == actor)))


async def test_a_key_answering_410_marks_its_actor_gone_and_only_its_delete_counts(
    nodes, hostile: HostileServer
):
    """A deleted Mastodon account answers 410 for its actor document, so for its key
    (``actor#main-key``), and signs its ``Delete`` with the key we stored. The node marks it
    gone (its follows dropped, as a 410 on ``fetch_actor`` does), accepts that Delete verified
    with the stored key, and nothing else the account signs."""
    clock = FrozenClock(datetime.now(UTC))
    target = await make_target(nodes, clock=clock)
    mallory = hostile.actor_id("mallory")
    reply = await hostile.post(target.inbox, _follow(hostile, target.chapter), now=clock.now())
    assert reply.status == 202, reply

    async def following() -> bool:
        return await _follows_of(target, mallory) == [target.chapter]

    await eventually(following, what="the inbox worker to handle the Follow")
    hostile.serve("/actors/mallory", _gone)  # the account is deleted
    # The stored copy is old by now: the next request signed by mallory fetches her key again.
    clock.advance(timedelta(seconds=target.node.services.settings.actor_cache_seconds + 1))
    gets = len(hostile.gets())
    reply = await hostile.post(target.inbox, _follow(hostile, target.chapter), now=clock.now())
    assert reply.status == 401 and "key_fetch_failed" in reply.detail, reply
    assert hostile.gets()[gets:] == ["/actors/mallory"]
    row = await _remote_actor(target, mallory)
    assert row is not None and row.gone_at == clock.now()
    assert await _follows_of(target, mallory) == []

    # Her Delete of herself, signed with the key stored for her: accepted, with no new fetch.
    before = await rows(target.node)
    reply = await hostile.post(target.inbox, _delete_self(hostile, "mallory"), now=clock.now())
    assert reply.status == 202, reply
    assert (await rows(target.node))["InboxItem"] == before["InboxItem"] + 1
    assert len(hostile.gets()) == gets + 1
    # The stored key still has to verify it, and it verifies nothing else she signs.
    before = await rows(target.node)
    forged = _delete_self(hostile, "mallory") | {"id": f"{mallory}#delete-2"}
    reply = await hostile.post(target.inbox, forged, key=generate_rsa_key(2048), now=clock.now())
    assert reply.status == 401 and "invalid_signature" in reply.detail, reply
    reply = await hostile.post(target.inbox, _follow(hostile, target.chapter), now=clock.now())
    assert reply.status == 401 and "key_fetch_failed" in reply.detail, reply
    await assert_nothing_stored(target.node, before)

    # A Delete from an account never stored: no key to verify it with, nothing of it to remove.
    hostile.add_actor("ghost")
    hostile.serve("/actors/ghost", _gone)
    reply = await hostile.post(
        target.inbox, _delete_self(hostile, "ghost"), as_actor="ghost", now=clock.now()
    )
    assert reply.status == 401 and "key_fetch_failed" in reply.detail, reply
    assert hostile.gets()[-1] == "/actors/ghost"
    await assert_nothing_stored(target.node, before)
    assert await _remote_actor(target, hostile.actor_id("ghost")) is None
