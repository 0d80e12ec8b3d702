"""The resolver's key cache: it expires, it learns of superseded keys through the database (two
resolvers on two connections to one database play a web and a worker process), including a key
replaced under the same key id, and its cap on key fetches per origin is never remembered as a
key's failure.

The key server is a real loopback HTTP server that records every request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from node.federation.actor_rows import StaleActorDocument, Superseded, key_fingerprint
from node.federation.resolver import (
    SUPERSEDED_POLL_SECONDS,
    ActorResolver,
    FetchCapped,
    KeySuperseded,
    ResolveError,
    store_actor_row,
)
from node.runtime.clock import FrozenClock
from protocol.actors import parse_actor
from protocol.keys import generate_rsa_key, public_key_to_pem
from storage.engine import Database, open_database
from storage.repositories import actors as actor_repo
from storage.repositories import keys as key_repo
from tests.rig.hostile import HostileServer
from tests.rig.nodes import Node


class Ticks:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def server() -> AsyncIterator[HostileServer]:
    started = await HostileServer().start()
    started.add_actor("mallory")
    yield started
    await started.stop()


@pytest.fixture
async def node(nodes: Any) -> Node:
    return await nodes()


@pytest.fixture
async def other_db(node: Node) -> AsyncIterator[Database]:
    """A second engine on the node's database: what another process would hold."""
    db = open_database(node.services.settings.database_url)
    yield db
    await db.dispose()


def resolver(
    node: Node, db: Database, clock: FrozenClock, ticks: Ticks, **settings: Any
) -> ActorResolver:
    return ActorResolver(
        settings=dataclasses.replace(node.services.settings, **settings),
        db=db,
        transport=node.services.transport,
        clock=clock,
        fetch_signer=node.services.fetch_signer,
        monotonic=ticks,
    )


def pem_of(key: Any) -> str:
    return public_key_to_pem(key)  # type: ignore[arg-type]


def rotated(server: HostileServer, name: str, *, key_id: str | None) -> tuple[Any, dict[str, Any]]:
    """Serve ``name`` with a new key (under ``key_id``, or the same id); the key and document."""
    key = generate_rsa_key(2048)
    doc = server.actor_document(name, key=key)
    if key_id is not None:
        doc["publicKey"]["id"] = key_id
    server.serve_json(f"/actors/{name}", doc)
    return key, doc


async def store_elsewhere(db: Database, doc: dict[str, Any], now: datetime) -> Superseded:
    """What a worker process does with an actor ``Update`` (handlers/event.py)."""
    async with db.write() as session:
        return await store_actor_row(
            session, parse_actor(doc, allow_http=True), doc, now, retire_for=RETIRE_FOR
        )


#: The default ``key_cache_seconds``, which is how long a retired key stays retired.
RETIRE_FOR = timedelta(seconds=300)


async def test_a_key_superseded_by_another_process_is_refused_without_a_fetch(
    node, other_db, server
):
    clock, ticks = FrozenClock(datetime.now(UTC)), Ticks()
    web = resolver(node, node.services.db, clock, ticks)
    worker = resolver(node, other_db, clock, Ticks())
    old_id = server.key_id("mallory")
    assert (await web.key(old_id)).fetched

    new_id = f"{server.actor_id('mallory')}#key-2"
    new_key, _ = rotated(server, "mallory", key_id=new_id)
    await worker.fetch_actor(server.actor_id("mallory"))  # a refetch in the worker process
    async with other_db.read() as session:
        assert await key_repo.is_superseded(session, old_id)
        row = await actor_repo.remote_actor(session, server.actor_id("mallory"))
    assert row is not None and row.public_key_id == new_id
    gets = len(server.gets())

    ticks.now += SUPERSEDED_POLL_SECONDS + 0.1  # the web process's next read of the table
    with pytest.raises(KeySuperseded) as info:
        await web.key(old_id)
    assert info.value.reason.value == "key_superseded"
    with pytest.raises(KeySuperseded):
        await web.key(old_id, refresh=True)  # not even a refetch
    assert len(server.gets()) == gets
    # The new key comes from the row the worker stored, with no fetch either.
    current = await web.key(new_id)
    assert pem_of(current.public_key) == pem_of(new_key.public_key())
    assert len(server.gets()) == gets
    # A process that starts later refuses it from the first request.
    fresh = resolver(node, other_db, clock, Ticks())
    with pytest.raises(KeySuperseded):
        await fresh.key(old_id)
    assert len(server.gets()) == gets


def serve_key_id(server: HostileServer, name: str, key_id: str) -> dict[str, Any]:
    """Serve ``name`` with the server's key under ``key_id``; the document."""
    doc = server.actor_document(name)
    doc["publicKey"]["id"] = key_id
    server.serve_json(f"/actors/{name}", doc)
    return doc


@pytest.mark.parametrize("long_id", [False, True], ids=["main-key", "2000-character-key-id"])
async def test_a_key_rotated_under_the_same_id_is_dropped_at_the_next_poll(
    node, other_db, server, long_id
):
    """Mastodon and ``chapterhouse keys rotate`` keep the key id and change the key. The web
    process must not go on verifying with the old key for ``key_cache_seconds`` (300 s)."""
    clock, ticks = FrozenClock(datetime.now(UTC)), Ticks()
    web = resolver(node, node.services.db, clock, ticks)
    worker = resolver(node, other_db, clock, Ticks())
    actor_id = server.actor_id("mallory")
    key_id = f"{actor_id}#{'k' * 1990}" if long_id else server.key_id("mallory")
    old_doc = serve_key_id(server, "mallory", key_id)
    old = await web.key(key_id)
    assert old.fetched

    new_key, new_doc = rotated(server, "mallory", key_id=key_id)
    await worker.fetch_actor(actor_id)  # the worker process refetches (or handles an Update)
    async with other_db.read() as session:
        [row] = await key_repo.superseded_since(session, 0)
        assert not await key_repo.is_superseded(session, key_id)  # the id itself stays valid
    assert row.key_id == key_repo.retired_marker(key_id, key_fingerprint(old.public_key))
    assert len(row.key_id) <= 2048
    assert row.key_id.startswith(key_repo.HASHED_ID_PREFIX) == long_id
    gets = len(server.gets())

    # Until its next read of the table (2 s at most) the web process still holds the old key...
    assert pem_of((await web.key(key_id)).public_key) == pem_of(old.public_key)
    ticks.now += SUPERSEDED_POLL_SECONDS + 0.1
    # ...and then drops it, long before its 300 s are up: the new key comes from the row.
    current = await web.key(key_id)
    assert pem_of(current.public_key) == pem_of(new_key.public_key())
    assert not current.fetched and len(server.gets()) == gets

    # A stale copy listing the old key (a cache on the way) would bring it back and retire the
    # new one: refused, and the row keeps the new key.
    server.serve_json("/actors/mallory", old_doc)
    with pytest.raises(ResolveError, match="moments ago"):
        await web.key(key_id, refresh=True)
    assert pem_of((await fresh_key(node, other_db, clock, key_id)).public_key) == pem_of(
        new_key.public_key()
    )
    # The same key spelt another way (PKCS#1) is no rotation.
    pkcs1 = new_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    )
    respelt = {**new_doc, "publicKey": {**new_doc["publicKey"], "publicKeyPem": pkcs1.decode()}}
    assert await store_elsewhere(other_db, respelt, clock.now()) == Superseded()


async def fresh_key(node: Node, db: Database, clock: FrozenClock, key_id: str) -> Any:
    """The key a process starting now would use (it reads the table and the row)."""
    return await resolver(node, db, clock, Ticks()).key(key_id)


async def test_going_back_to_an_older_key_is_believed_once_its_retirement_runs_out(
    node, other_db, server
):
    """A retired key stays retired for ``key_cache_seconds`` (no cache can hold it longer), not
    for good: a peer that restores an older key is locked out for that long at most. And each
    retirement is announced afresh, so a process caching the key then drops it too."""
    clock = FrozenClock(datetime.now(UTC))
    key_id = server.key_id("mallory")
    doc_a = server.actor_document("mallory")
    await store_elsewhere(other_db, doc_a, clock.now())
    key_b, doc_b = rotated(server, "mallory", key_id=None)
    marker_a = key_repo.retired_marker(key_id, key_fingerprint(server.key.public_key()))
    assert await store_elsewhere(other_db, doc_b, clock.now()) == Superseded(marker=marker_a)
    with pytest.raises(StaleActorDocument, match="moments ago"):  # back at once: a stale copy
        await store_elsewhere(other_db, doc_a, clock.now())

    clock.advance(RETIRE_FOR + timedelta(seconds=1))  # the peer really went back to A
    marker_b = key_repo.retired_marker(key_id, key_fingerprint(key_b.public_key()))
    assert await store_elsewhere(other_db, doc_a, clock.now()) == Superseded(marker=marker_b)
    clock.advance(timedelta(seconds=200))
    ticks = Ticks()
    web = resolver(node, node.services.db, clock, ticks)
    assert pem_of((await web.key(key_id)).public_key) == pem_of(server.key.public_key())

    clock.advance(timedelta(seconds=101))  # B's retirement is over too: the peer moves to B
    assert await store_elsewhere(other_db, doc_b, clock.now()) == Superseded(marker=marker_a)
    async with other_db.read() as session:
        rows = await key_repo.superseded_since(session, 0)
    assert [r.key_id for r in rows] == [marker_b, marker_a]  # A's marker again, as a new row
    ticks.now += SUPERSEDED_POLL_SECONDS + 0.1
    current = await web.key(key_id)  # the web process cached A 101 s ago, for 300 s
    assert pem_of(current.public_key) == pem_of(key_b.public_key()) and not current.fetched


async def test_a_document_listing_a_superseded_key_is_stale(node, other_db, server):
    clock = FrozenClock(datetime.now(UTC))
    old_doc = server.actor_document("mallory")
    await store_elsewhere(other_db, old_doc, clock.now())
    new_id = f"{server.actor_id('mallory')}#key-2"
    _, new_doc = rotated(server, "mallory", key_id=new_id)
    recorded = await store_elsewhere(other_db, new_doc, clock.now())
    assert recorded == Superseded(key_id=server.key_id("mallory"))
    assert await store_elsewhere(other_db, new_doc, clock.now()) == Superseded()  # idempotent
    # An older copy (a cache, a replay) neither brings the old key back nor retires the new one.
    with pytest.raises(StaleActorDocument, match="since replaced"):
        await store_elsewhere(other_db, old_doc, clock.now())
    async with other_db.read() as session:
        row = await actor_repo.remote_actor(session, server.actor_id("mallory"))
        assert row is not None and row.public_key_id == new_id
        assert not await key_repo.is_superseded(session, new_id)
        assert len(await key_repo.superseded_since(session, 0)) == 1


async def test_a_cached_key_is_read_again_after_key_cache_seconds(node, other_db, server):
    clock = FrozenClock(datetime.now(UTC))
    web = resolver(node, node.services.db, clock, Ticks(), key_cache_seconds=60)
    key_id = server.key_id("mallory")
    first = await web.key(key_id)
    assert first.fetched and len(server.gets()) == 1

    # Another process stores the actor's new key under the same id (Mastodon and Chapterhouse
    # rotate that way), e.g. from an Update its inbox worker handled.
    new_key, doc = rotated(server, "mallory", key_id=None)
    recorded = await store_elsewhere(other_db, doc, clock.now())
    assert recorded.key_id is None and recorded.marker is not None  # the id stays; the key goes

    clock.advance(timedelta(seconds=59))
    assert pem_of((await web.key(key_id)).public_key) == pem_of(first.public_key)  # cached
    clock.advance(timedelta(seconds=2))
    again = await web.key(key_id)
    assert pem_of(again.public_key) == pem_of(new_key.public_key())
    assert not again.fetched and len(server.gets()) == 1  # read from the database, not fetched


async def test_the_fetch_cap_is_per_origin_and_never_a_keys_failure(node, server):
    clock, ticks = FrozenClock(datetime.now(UTC)), Ticks()
    web = resolver(node, node.services.db, clock, ticks, key_fetches_per_origin_per_minute=2)
    for name in ("ann", "ben"):
        server.add_actor(name)
    await web.key(server.key_id("mallory"))
    await web.key(server.key_id("ann"))
    for _ in range(3):  # over the cap: refused at once, and nothing is fetched
        with pytest.raises(FetchCapped, match="cap"):
            await web.key(server.key_id("ben"))
    assert server.hits("/actors/ben") == []
    # A real failure is remembered (5 minutes); the cap's refusal was not.
    ticks.now += 30  # one token back (2 a minute)
    with pytest.raises(ResolveError, match="cannot fetch"):
        await web.key(server.url("/actors/nobody#main-key"))
    ticks.now += 30
    resolved = await web.key(server.key_id("ben"))
    assert resolved.owner == server.actor_id("ben") and len(server.hits("/actors/ben")) == 1
    ticks.now += 30
    with pytest.raises(ResolveError, match="cached failure"):
        await web.key(server.url("/actors/nobody#main-key"))
    assert len(server.hits("/actors/nobody")) == 1
    # Another origin has its own budget.
    other = await HostileServer().start()
    try:
        other.add_actor("zed")
        server.add_actor("cy")
        server.add_actor("dee")
        capped = resolver(
            node, node.services.db, clock, Ticks(), key_fetches_per_origin_per_minute=1
        )
        assert (await capped.key(server.key_id("cy"))).fetched
        with pytest.raises(FetchCapped):
            await capped.key(server.key_id("dee"))
        assert (await capped.key(other.key_id("zed"))).fetched
    finally:
        await other.stop()
