"""Finding each other without a centre: three nodes, none told of the others except through
one campaign (chapters on B and C join a campaign on A). After one refresh each, every node
finds the others' chapters by distance and by text, through its own index."""

from __future__ import annotations

import json

import orjson
from sqlalchemy import select

from node.features.actors.local import create_actor
from node.features.directory.refresh import refresh_now
from node.features.directory.search import DirectoryQuery, search_directory
from storage.models import DirectoryEntry, DirectoryNode
from storage.repositories import directory as directory_repo
from tests.federation.conftest import follow_and_wait
from tests.rig.nodes import Node, acli

LYON = (45.7640, 4.8357)
BERLIN = (52.5200, 13.4050)
PARIS = (48.8566, 2.3522)


def place(name: str, point: tuple[float, float], topic: str, language: str) -> dict[str, object]:
    return {
        "place_name": name,
        "coordinates": list(point),
        "topics": [topic],
        "languages": [language],
    }


async def names_near(node: Node, point: tuple[float, float], radius: float) -> list[str]:
    found = await search_directory(node.services, DirectoryQuery(near=point, radius_km=radius))
    return [r.name or "" for r in found if r.kind == "chapter"]


async def three_nodes(nodes) -> tuple[Node, Node, Node]:
    a, b, c = await nodes(), await nodes(), await nodes()
    campaign = await create_actor(a.services, "rivers", "campaign", title="Clean Rivers")
    await a.chapter("seine", title="Seine Keepers", profile=place("Paris", PARIS, "rivers", "fr"))
    await b.chapter(
        "rhone",
        title="Rhône Guardians",
        summary="Litter picks along the quays",
        profile=place("Lyon", LYON, "rivers", "fr"),
    )
    await c.chapter(
        "spree", title="Spree Paddlers", profile=place("Berlin", BERLIN, "kayaks", "de")
    )
    await follow_and_wait(b, "rhone", campaign.actor.ap_id)
    await follow_and_wait(c, "spree", campaign.actor.ap_id)
    return a, b, c


async def test_three_nodes_find_each_others_chapters_by_distance_and_text(nodes):
    a, b, c = await three_nodes(nodes)
    # Before any refresh, each node knows only its own chapters.
    assert await names_near(b, BERLIN, 50) == []

    await refresh_now(a.services)
    await refresh_now(c.services)
    # B through the real command line, as an admin would (progress on stderr).
    refreshed = await acli("directory", "refresh", "--data", str(b.data_dir), env=b.cli_env)
    assert "read" in refreshed.stderr

    # By distance: from Berlin, within 50 km, every node finds the Spree chapter (C's), and
    # from Lyon B's; nearest first with a wide radius.
    for node in (a, b, c):
        assert await names_near(node, BERLIN, 50) == ["spree"]
        assert await names_near(node, LYON, 50) == ["rhone"]
        assert await names_near(node, LYON, 2000) == ["rhone", "seine", "spree"]
    # By text (the database's index): words from the title and summary, accents folded.
    for node in (a, b, c):
        found = await search_directory(node.services, DirectoryQuery(text="rhone litter"))
        assert [r.id for r in found] == [b.services.ids.actor("rhone")]
        found = await search_directory(node.services, DirectoryQuery(text="paddlers"))
        assert [r.id for r in found] == [c.services.ids.actor("spree")]
    # The command line's JSON contract, on C: a place name through the offline gazetteer.
    result = await acli(
        "directory", "search", "--near", "Lyon, FR", "--radius", "30",
        "--data", str(c.data_dir), "--json", env=c.cli_env,
    )  # fmt: skip
    (rhone,) = json.loads(result.stdout)["results"]
    assert rhone["id"] == b.services.ids.actor("rhone") and rhone["kind"] == "chapter"
    assert rhone["name"] == "rhone" and rhone["distanceKm"] < 30
    assert rhone["place"]["name"] == "Lyon" and rhone["topics"] == ["rivers"]
    assert rhone["languages"] == ["fr"]
    # B learned C only through the campaign's directory on A.
    async with b.services.db.read() as session:
        learned = {n.origin: n.learned for n in await directory_repo.all_nodes(session)}
    assert learned[str(c.services.ids.origin)] == "campaign"


async def test_a_second_refresh_is_conditional_and_waits_an_hour(nodes):
    a, b, _c = await three_nodes(nodes)
    await refresh_now(b.services)
    hits = len([h for h in a.hits if h.path == "/directory"])
    assert hits == 1
    # Within the hour, a refresh does not fetch again.
    await refresh_now(b.services)
    assert len([h for h in a.hits if h.path == "/directory"]) == 1
    # Once due, the fetch is conditional: an unchanged directory is a 304, entries kept.
    async with b.services.db.write() as session:
        await session.execute(
            DirectoryNode.__table__.update().values(
                next_fetch_at=b.services.clock.now(), fetched_at=None
            )
        )
    report = await refresh_now(b.services)
    assert report.unchanged >= 1
    assert [h.status for h in a.hits if h.path == "/directory"][-1] == 304
    assert await names_near(b, PARIS, 10) == ["seine"]


async def test_the_directory_collection_and_nodeinfo(nodes):
    a, b, c = await three_nodes(nodes)
    session = a.services.transport.session
    await a.services.transport.start()
    url = a.base_url + "/directory"
    async with session.get(url, headers={"Accept": "application/activity+json"}) as response:
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        etag = response.headers["ETag"]
        doc = orjson.loads(await response.read())
    assert doc["type"] == "OrderedCollection" and doc["id"] == url
    items = {item["preferredUsername"]: item for item in doc["orderedItems"]}
    assert set(items) == {"rivers", "seine"}
    assert items["seine"]["location"]["latitude"] == PARIS[0]
    assert items["seine"]["knowsLanguage"] == ["fr"]
    assert items["rivers"]["chapterhouse:kind"] == "campaign"
    assert sorted(items["rivers"]["chapterhouse:memberChapters"]) == sorted(
        [b.services.ids.actor("rhone"), c.services.ids.actor("spree")]
    )
    headers = {"Accept": "application/activity+json", "If-None-Match": etag}
    async with session.get(url, headers=headers) as response:
        assert response.status == 304
    async with session.get(a.base_url + "/nodeinfo/2.1") as response:
        info = orjson.loads(await response.read())
    assert info["metadata"]["directory"] == url


async def test_a_directory_speaking_for_another_node_is_refused_whole(nodes, aiohttp_server):
    from aiohttp import web

    victim = "https://elsewhere.example/actors/fake"

    async def lying(request: web.Request) -> web.Response:
        origin = f"http://{request.host}"
        items = [
            {"id": origin + "/actors/real", "type": "Group", "preferredUsername": "real"},
            {"id": victim, "type": "Group", "preferredUsername": "fake"},
        ]
        return web.json_response(
            {"type": "OrderedCollection", "orderedItems": items},
            content_type="application/activity+json",
        )

    app = web.Application()
    app.router.add_get("/directory", lying)
    server = await aiohttp_server(app, host="127.0.0.1")
    node = await nodes()
    cli_seed = await acli(
        "directory", "seed", "add", f"http://127.0.0.1:{server.port}",
        "--data", str(node.data_dir), env=node.cli_env,
    )  # fmt: skip
    assert cli_seed.stdout.strip() == f"http://127.0.0.1:{server.port}"
    report = await refresh_now(node.services)
    assert report.failed == 1 and "elsewhere.example" in report.errors[0]
    async with node.services.db.read() as session:
        stored = list(await session.scalars(select(DirectoryEntry.actor_id)))
        (row,) = await directory_repo.all_nodes(session)
    assert stored == []  # not even the honest item
    assert row.state == "failing" and "refused" in (row.last_error or "")


async def test_a_blocked_domains_entries_are_hidden_then_dropped(nodes):
    from node.features.moderation.blocks import block_domain

    a, b, c = await three_nodes(nodes)
    await refresh_now(b.services)
    assert await names_near(b, BERLIN, 50) == ["spree"]
    await block_domain(b.services, c.authority)
    assert await names_near(b, BERLIN, 50) == []  # at once, before any refresh
    await refresh_now(b.services)
    spree = c.services.ids.actor("spree")
    async with b.services.db.read() as session:
        held = set(await session.scalars(select(DirectoryEntry.actor_id)))
    assert spree not in held and a.services.ids.actor("seine") in held
