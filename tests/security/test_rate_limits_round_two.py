"""Rate limits charged to what is proven (issue 14, "Rate limits after verification").

Before its signature is verified a request spends only its client address's budget; the key and
the registrable domain of the key's owner are charged once the signature checks out. Junk naming
an honest peer's key costs that peer nothing, and fresh subdomains of one registered name share
one budget.
"""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import orjson

from node.federation.resolver import actor_row_values
from protocol.activities import build_follow
from protocol.actors import parse_actor
from protocol.keys import public_key_to_pem
from storage.repositories import actors as actor_repo
from tests.rig.hostile import HostileServer, Reply, send
from tests.rig.signing import signed_post_headers
from tests.security.helpers import (
    Honest,
    Target,
    assert_nothing_stored,
    assert_serves_honest,
    make_target,
    rows,
)

#: Budgets small enough for a test to spend: no refill to speak of while it runs.
TRICKLE = 0.001


def _like(actor: str, target: Target) -> dict[str, Any]:
    origin = actor.split("/actors/", 1)[0]
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{origin}/likes/{uuid.uuid4().hex}",
        "type": "Like",
        "actor": actor,
        "object": target.chapter,
        "to": [target.chapter],
    }


def _assert_429(reply: Reply, *words: str) -> None:
    assert reply.status == 429, reply
    assert int(reply.headers["Retry-After"]) >= 1, reply.headers
    for word in words:
        assert word in reply.detail, (word, reply.detail)


async def test_junk_naming_an_honest_key_does_not_spend_that_peers_budget(
    nodes, hostile: HostileServer, honest: Honest
):
    """49 badly signed requests claim the honest peer's key id (and other key ids on its
    domain); its key and domain budgets are 30 each. Charged before verification (the old
    rule), the junk locked the peer out with 429; now the junk is refused 401 and the peer's
    next real request is accepted."""
    target = await make_target(
        nodes,
        inbox_rate_per_key=TRICKLE,
        inbox_burst_per_key=30,
        inbox_rate_per_domain=TRICKLE,
        inbox_burst_per_domain=30,
    )
    signer = honest.node.services.keys.rsa_signer(honest.actor)
    ghosts = [f"{honest.node.base_url}/actors/ghost{i}#main-key" for i in range(9)]
    key_ids = [signer.key_id] * 40 + ghosts
    before = await rows(target.node)
    statuses = []
    async with aiohttp.ClientSession() as session:
        for key_id in key_ids:
            follow = build_follow(
                honest.node.services.activity_id(), honest.actor_id, target.chapter
            )
            body = orjson.dumps(follow)
            # Signed by mallory's key under the honest key id: a signature that cannot verify.
            headers = hostile.signed_headers(target.inbox, body, key_id=key_id)
            reply = await send(target.inbox, body, headers, session=session)
            statuses.append(reply.status)
    assert statuses == [401] * len(key_ids), sorted(set(statuses))
    # Only the honest actor's document, fetched to check the junk's signatures against.
    await assert_nothing_stored(target.node, before, except_=["RemoteActor"])
    await assert_serves_honest(target, honest)  # 202, stored, and answered with an Accept


def _subdomain_actor(origin: str, key_pem: str) -> dict[str, Any]:
    actor_id = f"{origin}/actors/mallory"
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": actor_id,
        "type": "Person",
        "preferredUsername": "mallory",
        "inbox": f"{actor_id}/inbox",
        "outbox": f"{actor_id}/outbox",
        "publicKey": {"id": f"{actor_id}#main-key", "owner": actor_id, "publicKeyPem": key_pem},
    }


async def test_subdomains_of_one_registrable_domain_share_one_budget(nodes, hostile: HostileServer):
    """Two random subdomains of one registered name, each with a genuine key the node already
    knows (their actor documents as a fetch would have stored them: these names do not resolve
    on a test machine). Their verified requests draw on one budget of 3: the other subdomain is
    refused 429 once it is spent, while another registrable domain is not."""
    target = await make_target(nodes, inbox_rate_per_domain=TRICKLE, inbox_burst_per_domain=3)
    registered = f"evil-{uuid.uuid4().hex[:10]}.example"
    origins = {
        "a": f"https://{uuid.uuid4().hex[:12]}.{registered}",
        "b": f"https://{uuid.uuid4().hex[:12]}.{registered}",
        "other": f"https://other-{uuid.uuid4().hex[:10]}.example",
    }
    pem = public_key_to_pem(hostile.key.public_key())  # type: ignore[arg-type]
    docs = {name: _subdomain_actor(origin, pem) for name, origin in origins.items()}
    services = target.node.services
    async with services.db.write() as session:
        for doc in docs.values():
            actor = parse_actor(doc, allow_http=True)
            values = actor_row_values(actor, doc, services.clock.now())
            await actor_repo.upsert_remote_actor(session, values)

    async def like(name: str) -> Reply:
        doc = docs[name]
        body = orjson.dumps(_like(doc["id"], target))
        headers = signed_post_headers(
            target.shared_inbox, body, key_id=doc["publicKey"]["id"], key=hostile.key
        )
        return await send(target.shared_inbox, body, headers)

    for name in ("a", "a", "b"):  # the shared budget of 3, spent from both subdomains
        reply = await like(name)
        assert reply.status == 202, (name, reply)
    before = await rows(target.node)
    for name in ("b", "a"):
        _assert_429(await like(name), registered, "per sending domain")
    await assert_nothing_stored(target.node, before)
    assert (await like("other")).status == 202  # another registrable domain: its own budget
    assert hostile.gets() == []  # the keys were known: nothing was fetched


async def test_one_address_over_its_budget_is_refused_before_any_key_fetch(
    nodes, hostile: HostileServer, honest: Honest
):
    """Before verification only the client address is charged. Past its burst (5), requests
    from 127.0.0.1 are answered 429 with Retry-After without the node fetching the keys they
    name; a peer on another address (127.0.0.2) is not held back."""
    target = await make_target(nodes, inbox_rate_per_ip=TRICKLE, inbox_burst_per_ip=5)
    before = await rows(target.node)
    replies: list[tuple[str, Reply]] = []
    async with aiohttp.ClientSession() as session:
        for i in range(12):
            path = f"/keys/k{i}"
            body = orjson.dumps(
                build_follow(hostile.activity_id(), hostile.actor_id("mallory"), target.chapter)
            )
            headers = hostile.signed_headers(target.inbox, body, key_id=hostile.url(f"{path}#k"))
            replies.append((path, await send(target.inbox, body, headers, session=session)))
    admitted = [path for path, reply in replies if reply.status != 429]
    refused = [(path, reply) for path, reply in replies if reply.status == 429]
    assert len(admitted) == 5 and len(refused) == 7, [r.status for _, r in replies]
    for path, reply in refused:
        _assert_429(reply, "127.0.0.1", "client address")
        assert path not in hostile.gets(), f"the node fetched {path} for a refused request"
    assert [r.status for p, r in replies if p in admitted] == [401] * 5  # unknown keys
    await assert_nothing_stored(target.node, before)

    # The honest peer, on another loopback address, has a budget of its own.
    signer = honest.node.services.keys.rsa_signer(honest.actor)
    follow = build_follow(honest.node.services.activity_id(), honest.actor_id, target.chapter)
    body = orjson.dumps(follow)
    headers = signed_post_headers(target.inbox, body, key_id=signer.key_id, key=signer.private_key)
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        reply = await send(target.inbox, body, headers, session=session)
    assert reply.status == 202, reply


async def test_verified_requests_give_their_address_charge_back(nodes, honest: Honest):
    """The address budget bounds what an address makes us check in vain: a busy honest server
    sending more verified deliveries than the budget's burst (here 3) is never refused by it,
    while junk from the same address spends it."""
    target = await make_target(nodes, inbox_rate_per_ip=TRICKLE, inbox_burst_per_ip=3)
    signer = honest.node.services.keys.rsa_signer(honest.actor)
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=connector) as session:

        async def like(key_id: str) -> Reply:
            body = orjson.dumps(_like(honest.actor_id, target))
            headers = signed_post_headers(target.inbox, body, key_id=key_id, key=signer.private_key)
            return await send(target.inbox, body, headers, session=session)

        for _ in range(10):  # more than the burst, each verified: each charge given back
            reply = await like(signer.key_id)
            assert reply.status == 202, reply
        forged = signer.key_id.replace("#main-key", "#no-such-key")
        statuses = [(await like(forged)).status for _ in range(5)]
    assert statuses[:3] == [401] * 3 and statuses[3:] == [429] * 2, statuses
