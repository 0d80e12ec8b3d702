"""``GET /api/v1/directory``: public (no token), CORS, ETag and 304; a bad place or radius is
a 400 naming it, never a 500; and ``/directory`` gives browsers the page and peers the AS2
collection."""

from __future__ import annotations

import aiohttp
import orjson
import pytest

from node.features.actors.local import create_actor

LYON = [45.764, 4.8357]


@pytest.fixture
async def node(nodes):
    node = await nodes()
    await create_actor(
        node.services,
        "rhone",
        "chapter",
        title="Rhône Guardians",
        profile={"place_name": "Lyon", "coordinates": LYON, "topics": ["rivers"]},
    )
    await create_actor(
        node.services,
        "villeurbanne",
        "chapter",
        title="Villeurbanne Bikes",
        profile={"coordinates": [45.7719, 4.8902], "radius_km": 5, "languages": ["fr"]},
    )
    return node


async def get(node, path: str, headers: dict[str, str] | None = None):
    async with (
        aiohttp.ClientSession() as http,
        http.get(node.base_url + path, headers=headers or {}) as response,
    ):
        return response.status, response.headers.copy(), await response.read()


async def test_search_is_public_with_cors_and_etag(node):
    status, headers, body = await get(node, "/api/v1/directory?near=Lyon&radius=20")
    assert status == 200, body
    assert headers["Access-Control-Allow-Origin"] == "*"
    results = orjson.loads(body)["results"]
    assert [r["name"] for r in results] == ["rhone", "villeurbanne"]  # nearest first
    assert results[0]["distanceKm"] < results[1]["distanceKm"]
    assert results[0]["place"]["name"] == "Lyon" and results[0]["topics"] == ["rivers"]
    status, _, _ = await get(
        node, "/api/v1/directory?near=Lyon&radius=20", {"If-None-Match": headers["ETag"]}
    )
    assert status == 304
    _, _, body = await get(node, "/api/v1/directory?q=guardians")
    assert [r["name"] for r in orjson.loads(body)["results"]] == ["rhone"]
    _, _, body = await get(node, "/api/v1/directory?language=fr")
    assert [r["name"] for r in orjson.loads(body)["results"]] == ["villeurbanne"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("near=Atlantisville", "near"),
        ("near=95,4", "near"),
        ("near=Lyon&radius=far", "radius"),
        ("near=Lyon&radius=-3", "radius"),
        ("near=Lyon&radius=nan", "radius"),
        ("radius=10", "radius"),
        ("topic=%23no%20spaces", "topic"),
        ("language=not_a_tag!", "language"),
        ("limit=0", "limit"),
    ],
)
async def test_bad_parameters_are_400_naming_them(node, query, field):
    status, headers, body = await get(node, f"/api/v1/directory?{query}")
    assert status == 400, body
    problem = orjson.loads(body)
    assert field in problem["title"] and problem["detail"].startswith(f"{field}:")
    assert headers["Access-Control-Allow-Origin"] == "*"


async def test_directory_negotiates_the_collection_and_the_page(node):
    status, headers, body = await get(node, "/directory", {"Accept": "application/ld+json"})
    assert status == 200 and headers["Content-Type"].startswith("application/activity+json")
    doc = orjson.loads(body)
    assert doc["type"] == "OrderedCollection" and doc["totalItems"] == 2
    status, headers, _ = await get(node, "/directory.json", {"Accept": "text/html"})
    assert status == 200 and headers["Content-Type"].startswith("application/activity+json")
    status, headers, body = await get(node, "/directory", {"Accept": "text/html"})
    assert status == 200 and headers["Content-Type"].startswith("text/html")


async def test_hashtag_links_lead_to_the_directory_by_topic(node):
    """A chapter's published Hashtag href (``/tags/{topic}``) opens the directory on that topic."""
    async with aiohttp.ClientSession() as http:
        async with http.get(node.base_url + "/tags/Rivers", allow_redirects=False) as found:
            assert found.status == 302
            assert found.headers["Location"] == "/directory?topic=rivers"
        async with http.get(node.base_url + "/tags/no%20spaces", allow_redirects=False) as bad:
            assert bad.status == 400
