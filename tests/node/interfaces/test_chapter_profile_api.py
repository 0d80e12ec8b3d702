"""A chapter's place, area, languages and topics over the JSON API (PATCH by its organisers),
in its Group actor document, on its page, and through the organiser's form: one real node.

Bad values answer 422 naming the field and change nothing; members who do not organise the
chapter are refused. Answers match the OpenAPI document."""

from __future__ import annotations

import html
from typing import Any

import aiohttp
import pytest
from jsonschema import Draft202012Validator

from protocol.chapter_profile import ChapterProfile, Place, parse_chapter_profile
from tests.rig.api import call_api
from tests.rig.nodes import Node
from tests.rig.signin import browser, csrf, get, login, post, set_password

CHAPTER = "/api/v1/chapters/greenpark"
TEMPLATE = "/api/v1/chapters/{chapter}"
PROFILE = {
    "place": {
        "name": "Green Park Lodge",
        "address": "1 Park Lane, London",
        "latitude": 51.5045,
        "longitude": -0.1489,
    },
    "radiusKm": 12.5,
    "regions": ["Westminster"],
    "languages": ["en", "PT-br"],
    "topics": ["#Litter", "parks"],
}


class World:
    def __init__(self, node: Node, organiser: str, member: str, doc: dict[str, Any]) -> None:
        self.node, self.organiser, self.member, self.doc = node, organiser, member, doc

    async def api(self, token: str | None, method: str, body: Any = None) -> tuple[int, Any]:
        return await call_api(self.node.base_url, token, method, CHAPTER, body)

    def check(self, method: str, status: int, body: Any) -> None:
        responses = self.doc["paths"][TEMPLATE][method.lower()]["responses"]
        assert str(status) in responses, (method, status)
        content = responses[str(status)].get("content", {}).get("application/json")
        if content is not None:
            schema = {**content["schema"], "components": self.doc["components"]}
            Draft202012Validator(schema).validate(body)

    async def actor(self) -> dict[str, Any]:
        headers = {"Accept": "application/activity+json"}
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{self.node.base_url}/actors/greenpark", headers=headers) as resp,
        ):
            assert resp.status == 200
            return await resp.json(content_type=None)


@pytest.fixture
async def world(nodes) -> World:
    node = await nodes()
    await node.chapter("greenpark", title="Green Park Crew")
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    mo = await node.member("mo", role="member", chapter="greenpark")
    status, doc = await call_api(node.base_url, None, "GET", "/api/openapi.json")
    assert status == 200
    return World(node, olga.token, mo.token, doc)


async def test_organiser_sets_the_profile_and_the_group_publishes_it(world: World):
    status, body = await world.api(world.organiser, "PATCH", PROFILE)
    assert status == 200, body
    world.check("PATCH", 200, body)
    assert body["place"] == PROFILE["place"]
    assert body["radiusKm"] == 12.5
    assert body["languages"] == ["en", "pt-BR"]
    assert body["topics"] == ["litter", "parks"]
    status, shown = await world.api(None, "GET")
    assert status == 200 and shown["place"] == PROFILE["place"], shown

    actor = await world.actor()
    assert actor["location"] == {
        "type": "Place",
        "name": "Green Park Lodge",
        "address": {"type": "PostalAddress", "streetAddress": "1 Park Lane, London"},
        "latitude": 51.5045,
        "longitude": -0.1489,
        "radius": 12.5,
        "units": "km",
    }
    assert [t["name"] for t in actor["tag"]] == ["#litter", "#parks"]
    assert actor["tag"][0]["href"] == f"{world.node.base_url}/tags/litter"
    assert actor["knowsLanguage"] == ["en", "pt-BR"]
    assert actor["areaServed"] == ["Westminster"]
    context_terms = actor["@context"][-1]
    assert context_terms["knowsLanguage"] == "sc:knowsLanguage"
    assert parse_chapter_profile(actor) == ChapterProfile(
        Place("Green Park Lodge", "1 Park Lane, London", 51.5045, -0.1489),
        12.5,
        ("Westminster",),
        ("en", "pt-BR"),
        ("litter", "parks"),
    )


async def test_partial_patch_and_clearing(world: World):
    assert (await world.api(world.organiser, "PATCH", PROFILE))[0] == 200
    status, body = await world.api(world.organiser, "PATCH", {"topics": ["rivers"]})
    assert status == 200, body
    assert body["topics"] == ["rivers"] and body["place"]["name"] == "Green Park Lodge"
    status, body = await world.api(
        world.organiser, "PATCH", {"place": {"latitude": None, "longitude": None}}
    )
    assert status == 200, body
    assert body["place"]["latitude"] is None and body["place"]["name"] == "Green Park Lodge"
    status, body = await world.api(world.organiser, "PATCH", {"place": None, "radiusKm": None})
    assert status == 200, body
    assert body["place"] is None and body["radiusKm"] is None
    assert "location" not in await world.actor()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"place": {"latitude": 91, "longitude": 0}}, "place.latitude"),
        ({"place": {"latitude": 10}}, "place.latitude"),
        ({"place": {"name": "x" * 201}}, "place.name"),
        ({"place": "Lyon"}, "place"),
        ({"radiusKm": -3}, "radiusKm"),
        ({"radiusKm": "far"}, "radiusKm"),
        ({"languages": ["english!"]}, "languages"),
        ({"languages": "en"}, "languages"),
        ({"topics": ["two words"]}, "topics"),
        ({"topics": [f"t{i}" for i in range(21)]}, "topics"),
        ({"colour": "green"}, "colour"),
    ],
)
async def test_bad_values_name_the_field_and_change_nothing(
    world: World, change: dict[str, Any], field: str
):
    assert (await world.api(world.organiser, "PATCH", PROFILE))[0] == 200
    before = await world.actor()
    status, problem = await world.api(world.organiser, "PATCH", {"topics": ["new"], **change})
    assert status == 422, problem
    assert problem["title"] == f"Invalid field: {field}", problem
    world.check("PATCH", 422, problem)
    after = await world.actor()
    assert after["tag"] == before["tag"] and after["location"] == before["location"]


async def test_only_organisers_patch(world: World):
    assert (await world.api(world.member, "PATCH", {"topics": ["x"]}))[0] == 403
    assert (await world.api(None, "PATCH", {"topics": ["x"]}))[0] == 401
    status, _ = await call_api(
        world.node.base_url, world.organiser, "PATCH", "/api/v1/chapters/nowhere", {"topics": []}
    )
    assert status == 404


async def test_organiser_form_sets_it_and_the_page_shows_place_and_topics(world: World):
    node = world.node
    await set_password(node, "olga")
    async with browser() as http:
        assert (await login(http, node, "olga")).status == 303
        manage = f"{node.base_url}/actors/greenpark/manage"
        form = {
            "csrf": await csrf(http, manage),
            "place_name": "Green Park Lodge",
            "address": "",
            "latitude": "51.5",
            "longitude": "-0.14",
            "radius_km": "3",
            "regions": "Westminster\nMayfair",
            "languages": "en, fr",
            "topics": "#Litter parks",
        }
        bad = await post(
            http, f"{node.base_url}/actors/greenpark/profile", {**form, "latitude": "x"}
        )
        assert bad.status == 422 and "latitude" in bad.text
        assert "location" not in await world.actor()
        saved = await post(http, f"{node.base_url}/actors/greenpark/profile", form)
        assert saved.status == 303, saved.text
        page = await get(http, manage)
        assert 'value="Green Park Lodge"' in page.text
    actor = await world.actor()
    assert actor["location"]["latitude"] == 51.5 and actor["areaServed"] == [
        "Westminster",
        "Mayfair",
    ]
    async with browser() as http:
        public = html.unescape((await get(http, f"{node.base_url}/actors/greenpark")).text)
    assert "Green Park Lodge" in public
    assert "#litter" in public and "#parks" in public
    assert "/tags/" not in public  # topics by name, never as IRIs
