"""A campaign's member chapters, on its page and as a collection, and the map of the calls they
adopted: two real nodes on loopback, a chapter on each side (one remote, one local), and a person
who follows the campaign (its audience, never listed as a member)."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

import aiohttp

from node.features.actors.local import create_actor
from node.features.calls.lifecycle import adopt_action, create_action
from node.features.following.follow import follow
from tests.browser.world import (
    call_data,
    follow_and_wait,
    knows,
    principal,
)
from tests.rig.nodes import Node, eventually

HTML = {"Accept": "text/html"}
AP = {"Accept": "application/activity+json"}
GREEN_PARK = {"place_name": "Green Park", "coordinates": (51.5045, -0.1425)}
RIVERSIDE = {"place_name": "Riverside Hall", "address": "1 River Road, Leeds"}


@dataclass
class World:
    hub: Node
    chapter_node: Node
    campaign: str
    greenpark: str  # remote member (on chapter_node), with coordinates
    riverside: str  # local member (on the hub), a place without coordinates
    adopted: str  # greenpark's call adopted from the campaign's, at the park gates


async def world(nodes) -> World:
    hub, chapter_node = await nodes(), await nodes()
    campaign = (await create_actor(hub.services, "climate", "campaign", title="Climate Day")).actor
    await hub.member("cora", role="organiser", chapter="climate")
    greenpark = (
        await chapter_node.chapter("greenpark", title="Green Park Crew", profile=GREEN_PARK)
    ).actor
    await chapter_node.member("olga", role="organiser", chapter="greenpark")
    riverside = (await hub.chapter("riverside", title="Riverside Tenants", profile=RIVERSIDE)).actor
    await follow_and_wait(chapter_node, "greenpark", campaign.ap_id)
    await follow_and_wait(hub, "riverside", campaign.ap_id)
    await hub.member("mia")
    await follow_and_wait(hub, "mia", campaign.ap_id)  # a person: audience, not a member
    gates = {"name": "Green Park gates", "latitude": 51.5049, "longitude": -0.1431}
    call = await create_action(
        hub.services,
        await principal(hub, "cora"),
        "climate",
        call_data("Global day of action", place=gates),
    )
    await eventually(knows(chapter_node, call.ap_id), what="the campaign's call at the chapter")
    olga = await principal(chapter_node, "olga")
    adopted = await adopt_action(chapter_node.services, olga, call.ap_id, "greenpark")
    await eventually(knows(hub, adopted.ap_id), what="the adopted call at the campaign")
    return World(hub, chapter_node, campaign.ap_id, greenpark.ap_id, riverside.ap_id, adopted.ap_id)


async def get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        return resp.status, dict(resp.headers), await resp.text()


def section(page: str, ident: str) -> str:
    match = re.search(rf'<ul class="member-chapters" id="{ident}">(.*?)</ul>', page, re.S)
    assert match, f"no #{ident} list on the page"
    return match.group(1)


async def test_campaign_page_lists_members_with_places_and_maps_adopted_calls(nodes):
    w = await world(nodes)
    # A call of greenpark's own (not adopted), with coordinates, that the hub holds too: the
    # campaign's map is not for it.
    own = await create_action(
        w.chapter_node.services,
        await principal(w.chapter_node, "olga"),
        "greenpark",
        call_data(
            "Our own picnic", place={"name": "Hyde Park", "latitude": 51.5, "longitude": -0.16}
        ),
    )
    await eventually(knows(w.hub, own.ap_id), what="greenpark's own call at the hub")
    status, headers, page = await get(w.campaign, HTML)
    assert status == 200
    listed = section(page, "member-chapters")
    # Both member chapters, by name, linked to their pages, with their places; not the person.
    assert f'<a href="{w.greenpark}">Green Park Crew</a>' in listed
    assert f'<a href="{w.riverside}">Riverside Tenants</a>' in listed
    assert "Green Park" in listed and "Riverside Hall, 1 River Road, Leeds" in listed
    assert "/actors/mia" not in listed
    # The map's data: the adopted call at its coordinates, named, linked, with its chapter.
    data = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', page, re.S)
    assert data, "no map data on the campaign page"
    config = json.loads(html.unescape(data.group(1)))
    assert config["tiles"] == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert [(m["lat"], m["lon"], m["url"]) for m in config["markers"]] == [
        (51.5049, -0.1431, w.adopted)
    ]
    assert config["markers"][0]["name"] == "Global day of action"
    assert "Green Park Crew" in config["markers"][0]["place"]
    assert '<script src="/static/vendor/leaflet/leaflet.js" defer></script>' in page
    # Tiles are the only new source the page allows; scripts stay our own.
    policy = headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://tile.openstreetmap.org" in policy
    assert "default-src 'self'" in policy and "script-src" not in policy
    assert "frame-ancestors 'none'" in policy


async def test_campaign_collection_of_member_chapters(nodes):
    w = await world(nodes)
    status, _, body = await get(w.campaign, AP)
    assert status == 200
    collection = json.loads(body)["chapterhouse:chapters"]
    assert collection == f"{w.campaign}/chapters"
    status, headers, body = await get(collection, AP)
    assert status == 200 and headers["Content-Type"].startswith("application/activity+json")
    doc = json.loads(body)
    assert doc["type"] == "OrderedCollection" and doc["totalItems"] == 2
    status, _, body = await get(doc["first"], AP)
    first = json.loads(body)
    assert first["type"] == "OrderedCollectionPage" and first["partOf"] == collection
    assert first["orderedItems"] == [w.greenpark, w.riverside]  # the order they joined
    # A chapter has no such collection, and a bad page number is refused, not a 500.
    status, _, _ = await get(f"{w.riverside}/chapters", AP)
    assert status == 404
    status, _, _ = await get(f"{collection}?page=zero", AP)
    assert status == 400


async def test_a_blocked_member_is_left_off_the_list(nodes):
    w = await world(nodes)
    from node.features.moderation.blocks import block_domain

    await block_domain(w.hub.services, w.chapter_node.authority)
    status, _, page = await get(w.campaign, HTML)
    assert status == 200
    listed = section(page, "member-chapters")
    assert "Green Park Crew" not in listed and "Riverside Tenants" in listed
    _, _, body = await get(f"{w.campaign}/chapters?page=1", AP)
    assert json.loads(body)["orderedItems"] == [w.riverside]


async def test_people_following_a_campaign_are_not_members(nodes):
    hub = await nodes()
    campaign = (await create_actor(hub.services, "solo", "campaign")).actor
    await hub.member("mia")
    await follow(hub.services, "mia", campaign.ap_id)
    status, _, page = await get(campaign.ap_id, HTML)
    assert status == 200
    assert "No chapter has joined yet." in section(page, "member-chapters")
    assert 'id="map-data"' not in page  # no adopted calls: no map, no Leaflet
