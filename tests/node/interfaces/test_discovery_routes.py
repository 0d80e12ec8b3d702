"""What peers and browsers read from a node: WebFinger, NodeInfo, host-meta, actors."""

from __future__ import annotations

import aiohttp
import pytest

from protocol.actors import parse_actor
from protocol.keys import ed25519_public_from_multibase, public_key_from_pem
from tests.rig.http import collection_items, get_json


async def _get(url: str, **headers: str) -> tuple[int, str, bytes]:
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers) as r:
        return r.status, r.headers.get("Content-Type", ""), await r.read()


@pytest.fixture
async def node(nodes):
    n = await nodes()
    await n.chapter("greenpark", title="Green Park <Crew>", summary="We pick up litter.")
    return n


async def test_webfinger_finds_a_chapter_by_acct_and_by_url(node):
    jrd = await get_json(
        f"{node.base_url}/.well-known/webfinger?resource=acct:greenpark@{node.authority}",
        accept="application/jrd+json",
    )
    self_link = next(link for link in jrd["links"] if link["rel"] == "self")
    assert self_link == {
        "rel": "self",
        "type": "application/activity+json",
        "href": f"{node.base_url}/actors/greenpark",
    }
    by_url = await get_json(
        f"{node.base_url}/.well-known/webfinger?resource={node.base_url}/actors/greenpark"
    )
    assert by_url["subject"] == f"acct:greenpark@{node.authority}"


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 400),
        ("?resource=", 400),
        ("?resource=acct:nobody@HOST", 404),
        ("?resource=acct:greenpark@elsewhere.example", 404),
        ("?resource=mailto:x@y", 400),
        ("?resource=acct:@HOST", 400),
    ],
)
async def test_webfinger_refuses_bad_queries(node, query, status):
    got, media, body = await _get(
        f"{node.base_url}/.well-known/webfinger{query.replace('HOST', node.authority)}"
    )
    assert got == status
    assert media.startswith("application/problem+json")
    assert b"detail" in body


async def test_nodeinfo_and_host_meta(node):
    links = await get_json(f"{node.base_url}/.well-known/nodeinfo", accept="application/json")
    info = await get_json(links["links"][0]["href"], accept="application/json")
    assert info["software"]["name"] == "chapterhouse"
    assert info["metadata"]["chapters"] == 1
    status, media, body = await _get(f"{node.base_url}/.well-known/host-meta")
    assert status == 200 and "xrd+xml" in media
    assert b"/.well-known/webfinger?resource={uri}" in body


@pytest.mark.parametrize(
    "accept",
    [
        "application/activity+json",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
    ],
)
async def test_actor_document_is_a_group_with_both_keys(node, accept):
    doc = await get_json(f"{node.base_url}/actors/greenpark", accept=accept)
    actor = parse_actor(doc, allow_http=True)
    assert actor.type == "Group" and actor.kind == "chapter"
    assert actor.shared_inbox == f"{node.base_url}/inbox"
    public_key_from_pem(actor.public_key_pem)
    ed25519_public_from_multibase(actor.assertion_methods[0].public_key_multibase)


async def test_browsers_get_html_with_escaped_text(node):
    status, media, body = await _get(f"{node.base_url}/actors/greenpark", Accept="text/html")
    assert status == 200 and media.startswith("text/html")
    assert b"Green Park &lt;Crew&gt;" in body and b"<Crew>" not in body


async def test_collections_are_paged_and_unknown_actors_404(node):
    assert await collection_items(f"{node.base_url}/actors/greenpark/followers") == []
    assert await collection_items(f"{node.base_url}/actors/greenpark/outbox") == []
    assert (await _get(f"{node.base_url}/actors/nobody"))[0] == 404
    assert (await _get(f"{node.base_url}/actors/greenpark/followers?page=0"))[0] == 400
    assert (await _get(f"{node.base_url}/actors/greenpark/followers?page=abc"))[0] == 400


async def test_healthz(node):
    health = await get_json(f"{node.base_url}/healthz", accept="application/json")
    assert health["status"] == "ok"
