"""A call split into slots (issue 16) travels with them: followers' nodes hold the slots the
Event carries, members on other nodes join a slot by its id, and the call's page and the
followers' copies show each slot's places left as they fill."""

from __future__ import annotations

import re

import aiohttp

from storage.repositories import actions as action_repo
from tests.rig.api import call_api
from tests.rig.nodes import Node, eventually

CALL = {
    "title": "Canal clean-up",
    "start": "2027-07-12T10:00",
    "end": "2027-07-12T13:00",
    "timezone": "Europe/London",
    "slots": ["10:00-12:00 litter pickers:10", "12:00-13:00 sorting:2"],
}


async def page(url: str) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers={"Accept": "text/html"}) as resp,
    ):
        assert resp.status == 200, resp.status
        return await resp.text()


def places(html: str) -> dict[str, str]:
    """Role → what the page says of its places (``3 places left``, ``full``)."""
    found = re.findall(
        r'<li class="slot[^"]*">([^<]*) · ([^<:]*): <span class="places">([^<]*)<', html
    )
    return {name: left for _when, name, left in found}


async def copy_on(node: Node, call_id: str) -> dict | None:
    async with node.services.db.read() as session:
        row = await action_repo.call_by_ap_id(session, call_id)
    return None if row is None else row.document


async def feed_call(fed, member: str, call_id: str) -> dict | None:
    status, body = await call_api(
        fed.node_of(member).base_url, fed.tokens[member], "GET", "/api/v1/feed"
    )
    assert status == 200, body
    return next((c for c in body["items"] if c["id"] == call_id), None)


async def test_slots_reach_followers_and_places_left_follow_the_joins(federation):
    fed = federation
    status, call = await call_api(
        fed.chapter_node.base_url,
        fed.organiser_token,
        "POST",
        "/api/v1/chapters/greenpark/actions",
        CALL,
    )
    assert status == 201, call
    litter, sorting = (s["id"] for s in call["slots"])

    # Each follower's node holds the slots its copy of the Event carries.
    for member in ("alice", "carol"):

        async def arrived(member: str = member) -> bool:
            return await feed_call(fed, member, call["id"]) is not None

        await eventually(arrived, what=f"the call in {member}'s feed")
        copy = await feed_call(fed, member, call["id"])
        assert copy is not None and copy["local"] is False
        assert [
            (s["id"], s["name"], s["start"], s["capacity"], s["remaining"]) for s in copy["slots"]
        ] == [
            (litter, "litter pickers", "2027-07-12T10:00:00+01:00", 10, 10),
            (sorting, "sorting", "2027-07-12T12:00:00+01:00", 2, 2),
        ]
        assert copy["capacity"] == 12
        stored = await copy_on(fed.node_of(member), call["id"])
        assert stored is not None and len(stored["chapterhouse:slots"]) == 2

    html = await page(call["id"])
    assert places(html) == {"litter pickers": "10 places left", "sorting": "2 places left"}
    assert "10:00–12:00 · litter pickers" in html  # in the call's zone (09:00 UTC)

    # Members of both follower nodes join slots by id; sorting fills up.
    for member, slot in (("alice", sorting), ("carol", sorting), ("bob", litter)):
        status, answer = await call_api(
            fed.node_of(member).base_url,
            fed.tokens[member],
            "POST",
            "/api/v1/rsvps",
            {"call": call["id"], "slot": slot},
        )
        assert status in (200, 202), answer

    async def filled() -> bool:
        return places(await page(call["id"])) == {
            "litter pickers": "9 places left",
            "sorting": "full",
        }

    await eventually(filled, what="the call page to show sorting full and 9 litter places left")

    # The followers' copies catch up (the participation Update carries the slots' counts).
    async def copies_caught_up() -> bool:
        for member in ("alice", "carol"):
            copy = await feed_call(fed, member, call["id"])
            if copy is None or [s["remaining"] for s in copy["slots"]] != [9, 0]:
                return False
        return True

    await eventually(copies_caught_up, what="followers' copies to show the places left")
