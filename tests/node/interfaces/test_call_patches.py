"""Edits are patches (issue 15): ``PATCH /api/v1/.../actions/{id}`` changes only what it is given.

A real node on loopback, its API over HTTP. Each step sends a few fields and checks that every
other field of the call (and of its published Event) is as it was.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.rig.api import call_api
from tests.rig.http import get_json

ACTIONS = "/api/v1/chapters/greenpark/actions"
FULL = {
    "title": "Canal clean-up",
    "start": "2027-07-12T10:00",
    "end": "2027-07-12T13:00",
    "timezone": "Europe/London",
    "place": {
        "name": "Lock 7",
        "address": "Towpath, Green Park",
        "latitude": 51.5,
        "longitude": -0.1,
    },
    "online_url": "https://meet.example/canal",
    "capacity": 30,
    "goal": "Clear the towpath",
    "targets": [
        {"metric": "participants", "unit": "people", "target": 50},
        {"metric": "kg_litter", "unit": "kg", "target": 200},
    ],
    "tags": ["canal", "litter"],
    "description": "<p>Bring gloves</p>",
}


@pytest.fixture
async def api(nodes):
    node = await nodes()
    await node.chapter("greenpark")
    token = (await node.member("olga", role="organiser", chapter="greenpark")).token

    async def request(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return await call_api(node.base_url, token, method, path, body)

    return request


def without(call: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The call's fields but those named (and those every edit changes)."""
    return {k: v for k, v in call.items() if k not in {*keys, "updated", "summary"}}


async def test_a_patch_changes_only_the_fields_it_gives(api):
    status, created = await api("POST", ACTIONS, FULL)
    assert status == 201, created
    path = f"{ACTIONS}/{created['id'][-26:]}"

    async def patch(body: dict[str, Any], *changed: str) -> dict[str, Any]:
        before = (await api("GET", path))[1]
        status, after = await api("PATCH", path, body)
        assert status == 200, (body, after)
        assert without(after, *changed) == without(before, *changed), body
        return after

    # The title alone: everything else, the place's address and coordinates included, stays.
    call = await patch({"title": "Canal clean-up (Lock 7)"}, "title")
    assert call["title"] == "Canal clean-up (Lock 7)"
    # A new place name keeps the address, the coordinates and the online link.
    call = await patch({"place": "Lock 8"}, "place")
    assert call["place"] == {
        "name": "Lock 8",
        "address": "Towpath, Green Park",
        "latitude": 51.5,
        "longitude": -0.1,
    }
    assert call["online_url"] == "https://meet.example/canal"
    # The address alone keeps the name; coordinates can be removed alone.
    call = await patch({"place": {"address": "Lock 8, Regent's Canal"}}, "place")
    assert call["place"]["name"] == "Lock 8"
    assert call["place"]["address"] == "Lock 8, Regent's Canal"
    assert call["place"]["latitude"] == 51.5
    call = await patch({"place": {"latitude": None, "longitude": None}}, "place")
    assert call["place"] == {
        "name": "Lock 8",
        "address": "Lock 8, Regent's Canal",
        "latitude": None,
        "longitude": None,
    }
    # One target changes or goes; the others stay.
    call = await patch(
        {"set_targets": [{"metric": "participants", "unit": "people", "target": 80}]}, "targets"
    )
    assert call["targets"] == [
        {"metric": "participants", "unit": "people", "target": 80},
        {"metric": "kg_litter", "unit": "kg", "target": 200},
    ]
    call = await patch({"remove_targets": ["kg_litter:kg"]}, "targets")
    assert call["targets"] == [{"metric": "participants", "unit": "people", "target": 80}]
    # null removes an optional field, and only that one.
    call = await patch({"goal": None}, "goal")
    assert call["goal"] is None

    # The Event followers get carries the same, address and coordinates included.
    event = await get_json(created["id"])
    assert event["name"] == "Canal clean-up (Lock 7)"
    assert event["location"]["address"]["streetAddress"] == "Lock 8, Regent's Canal"
    assert [h["name"] for h in event["tag"]] == ["#canal", "#litter"]
    assert event["attachment"][0]["href"] == "https://meet.example/canal"


async def test_refused_patches_change_nothing(api):
    status, created = await api("POST", ACTIONS, FULL)
    assert status == 201, created
    path = f"{ACTIONS}/{created['id'][-26:]}"
    refusals = [
        ({}, "nothing to change"),
        ({"remove_targets": ["trees:trees"]}, "no target trees:trees"),
        ({"title": None}, "title"),
        ({"place": {"latitude": 51.4}}, "together"),
        ({"colour": "green"}, "colour"),
        # The offset says 10:00 UTC; in London in July that is 11:00, not 10:00.
        ({"start": "2027-07-12T10:00:00+00:00", "timezone": "Europe/London"}, "11:00"),
    ]
    for body, says in refusals:
        status, problem = await api("PATCH", path, body)
        assert status == 422, (body, status, problem)
        assert says in problem["detail"], (body, problem)
    status, after = await api("GET", path)
    assert without(after) == without(created)
    assert after["updated"] is None
