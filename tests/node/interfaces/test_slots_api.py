"""Slots through the JSON API of a real node on loopback (issue 16): created with a call,
shown by GET (and in the published Event), kept by id across PATCHes, and every bad slot
refused with 422 naming it, nothing stored."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from jsonschema import Draft202012Validator

from storage.models import Participant
from storage.repositories import actions as action_repo
from tests.rig.api import call_api
from tests.rig.http import get_json
from tests.rig.nodes import Node

ACTIONS = "/api/v1/chapters/greenpark/actions"
CALL = {
    "title": "Canal clean-up",
    "start": "2027-07-12T10:00",
    "end": "2027-07-12T13:00",
    "timezone": "Europe/London",
    "slots": [
        "10:00-12:00 litter pickers:10",
        {"start": "12:00", "end": "13:00", "name": "sorting", "capacity": 4},
    ],
}


class Api:
    def __init__(self, node: Node, token: str) -> None:
        self.node, self.token = node, token

    async def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return await call_api(self.node.base_url, self.token, method, path, body)

    async def calls(self) -> list[dict[str, Any]]:
        status, body = await self("GET", ACTIONS)
        assert status == 200, body
        return body["items"]

    async def take(self, call_id: str, slot: str, actor: str, state: str = "accepted") -> None:
        """Someone holds (or waits for) a place in ``slot``, as the participation code stores it."""
        async with self.node.services.db.write() as session:
            row = await action_repo.call_by_ap_id(session, call_id)
            assert row is not None
            session.add(
                Participant(
                    call_id=row.id,
                    actor=actor,
                    join_activity_id=f"{actor}#join",
                    created_at=self.node.services.clock.now(),
                    state=state,
                    slot=slot,
                )
            )
            row.participant_count += state == "accepted"


@pytest.fixture
async def api(nodes) -> Api:
    node = await nodes()
    await node.chapter("greenpark")
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    return Api(node, olga.token)


def shown(call: dict[str, Any]) -> list[tuple[str, str, str, str, int, int, int]]:
    return [
        (
            s["id"].rsplit("#", 1)[1],
            s["name"],
            s["start"],
            s["end"],
            s["capacity"],
            s["taken"],
            s["remaining"],
        )
        for s in call["slots"]
    ]


async def test_slots_are_created_shown_published_and_keep_their_ids(api):
    status, call = await api("POST", ACTIONS, CALL)
    assert status == 201, call
    assert shown(call) == [
        (
            "slot-1",
            "litter pickers",
            "2027-07-12T10:00:00+01:00",
            "2027-07-12T12:00:00+01:00",
            10,
            0,
            10,
        ),
        ("slot-2", "sorting", "2027-07-12T12:00:00+01:00", "2027-07-12T13:00:00+01:00", 4, 0, 4),
    ]
    assert all(s["id"].startswith(call["id"] + "#") for s in call["slots"])
    assert (call["capacity"], call["remaining"]) == (14, 14)  # the slots' sum
    path = f"{ACTIONS}/{call['id'][-26:]}"
    status, got = await api("GET", path)
    assert status == 200 and got["slots"] == call["slots"]

    # The Event carries them (what followers' nodes and other servers read).
    doc = await get_json(call["id"])
    assert [
        (s["id"], s["name"], s["maximumAttendeeCapacity"]) for s in doc["chapterhouse:slots"]
    ] == [
        (call["id"] + "#slot-1", "litter pickers", 10),
        (call["id"] + "#slot-2", "sorting", 4),
    ]
    assert doc["maximumAttendeeCapacity"] == 14
    # Feeds describe them in one line, in the call's zone.
    line = "Slots: 10:00–12:00 litter pickers (10 places left); 12:00–13:00 sorting (4 places left)"
    chapter = api.node.services.ids.actor("greenpark")
    async with aiohttp.ClientSession() as http:
        for feed in ("feed.atom", "calendar.ics"):
            async with http.get(f"{chapter}/{feed}") as resp:
                text = (await resp.text()).replace("\r\n ", "").replace("\\;", ";")
            assert resp.status == 200 and line in text, text  # (iCalendar: unfolded, unescaped)

    # The call JSON matches the documented schema, and its slots can be sent back as they are.
    openapi = await get_json(f"{api.node.base_url}/api/openapi.json", accept="application/json")
    for name, value in (("ActionCall", got), ("ActionCallInput", {"slots": got["slots"]})):
        root = {"$ref": f"#/components/schemas/{name}", "components": openapi["components"]}
        Draft202012Validator(root).validate(value)
    status, same = await api("PATCH", path, {"slots": got["slots"]})
    assert status == 200, same
    assert same["slots"] == got["slots"]

    # Sorting kept (with more places), litter moved (a new slot), stewards added: sorting keeps
    # its id and the new ones take the next free numbers.
    status, patched = await api(
        "PATCH",
        path,
        {
            "slots": [
                "12:00-13:00 sorting:6",
                "10:30-12:00 litter pickers:10",
                {"start": "10:00", "end": "13:00", "name": "stewards", "capacity": 2},
            ]
        },
    )
    assert status == 200, patched
    assert [(s[0], s[1], s[4]) for s in shown(patched)] == [
        ("slot-2", "sorting", 6),
        ("slot-3", "litter pickers", 10),
        ("slot-4", "stewards", 2),
    ]
    assert patched["capacity"] == 18
    # Other edits leave the slots as they are; `null` removes them (the capacity stays).
    status, renamed = await api("PATCH", path, {"title": "Canal clean-up, day one"})
    assert status == 200 and renamed["slots"] == patched["slots"]
    status, cleared = await api("PATCH", path, {"slots": None})
    assert status == 200, cleared
    assert (cleared["slots"], cleared["capacity"]) == ([], 18)
    assert "chapterhouse:slots" not in await get_json(call["id"])


BAD = [
    (
        {"slots": ["10:00-12:00 litter pickers:0"]},
        "slots",
        "slot 1 (litter pickers): capacity must be at least 1",
    ),
    ({"slots": ["09:00-12:00 early:3"]}, "slots", "slot 1 (early) (Mon 12 Jul 2027 09:00–12:00"),
    (
        {"slots": ["10:00-12:00 a:3", "12:30-12:00 b:1"]},
        "slots",
        "slot 2 (b): its end (12:00) is not after",
    ),
    ({"slots": ["10 to 12, litter"]}, "slots", "must look like START-END ROLE:CAPACITY"),
    (
        {"slots": [{"start": "10:00", "end": "12:00", "name": "x" * 101, "capacity": 1}]},
        "slots",
        "at most 100",
    ),
    ({"slots": [{"start": "10:00", "end": "12:00", "capacity": 1}]}, "slots", "needs a role name"),
    ({"slots": [f"10:00-11:00 r{i}:1" for i in range(51)]}, "slots", "at most 50 slots"),
    ({"slots": "10:00-12:00 litter:3"}, "slots", "must be a list of slots"),
    (
        {"capacity": 30, "slots": ["10:00-12:00 litter:3"]},
        "capacity",
        "takes its capacity from them",
    ),
]


@pytest.mark.parametrize(("change", "field", "words"), BAD)
async def test_bad_slots_are_refused_with_422_and_nothing_stored(api, change, field, words):
    status, problem = await api("POST", ACTIONS, {**CALL, **change})
    assert status == 422, problem
    assert problem["title"] == f"Invalid field: {field}"
    assert words in problem["detail"], problem["detail"]
    assert await api.calls() == []

    status, call = await api("POST", ACTIONS, CALL)
    assert status == 201
    status, problem = await api("PATCH", f"{ACTIONS}/{call['id'][-26:]}", change)
    assert status == 422, problem
    assert words in problem["detail"], problem["detail"]
    assert await api.calls() == [call]  # unchanged, not even its `updated`


async def test_slots_people_have_taken_cannot_go_or_shrink_below_them(api):
    status, call = await api("POST", ACTIONS, CALL)
    assert status == 201
    path = f"{ACTIONS}/{call['id'][-26:]}"
    litter, sorting = (s["id"] for s in call["slots"])
    for who in ("ann", "bea", "cy"):
        await api.take(call["id"], litter, f"https://m.example/actors/{who}")
    await api.take(call["id"], sorting, "https://m.example/actors/dee", state="waitlisted")

    refusals = [
        ({"slots": ["12:00-13:00 sorting:4"]}, "3 people have taken the slot litter pickers"),
        ({"slots": None}, "3 people have taken the slot litter pickers"),
        (
            {"slots": ["10:00-11:30 litter pickers:10", "12:00-13:00 sorting:4"]},
            "3 people have taken",
        ),
        (
            {"slots": ["10:00-12:00 litter pickers:2", "12:00-13:00 sorting:4"]},
            "cannot take only 2: 3 people have already taken it",
        ),
    ]
    before = await api.calls()
    for change, words in refusals:
        status, problem = await api("PATCH", path, change)
        assert status == 422, problem
        assert words in problem["detail"], problem["detail"]
        assert await api.calls() == before

    # Down to its people is fine; a slot only waited for may go, and its number is not reused.
    status, patched = await api(
        "PATCH", path, {"slots": ["10:00-12:00 litter pickers:3", "12:00-13:00 packing:2"]}
    )
    assert status == 200, patched
    litter_now, packing = shown(patched)
    assert litter_now[:1] + litter_now[4:] == ("slot-1", 3, 3, 0)
    assert (packing[0], packing[1], packing[4]) == ("slot-3", "packing", 2)
    assert patched["capacity"] == 5
    # (Whoever waited for the slot that went is the waiting list's business: places.py.)


async def test_a_rescheduled_call_keeps_its_slots_and_their_people(api):
    status, call = await api("POST", ACTIONS, CALL)
    assert status == 201
    path = f"{ACTIONS}/{call['id'][-26:]}"
    litter = call["slots"][0]["id"]
    await api.take(call["id"], litter, "https://m.example/actors/ann")
    # A day later, same hours: the slots go with the call (same ids, Ann keeps her place).
    status, moved = await api(
        "PATCH", path, {"start": "2027-07-13T10:00", "end": "2027-07-13T13:00"}
    )
    assert status == 200, moved
    assert [(s[0], s[2], s[3], s[5]) for s in shown(moved)] == [
        ("slot-1", "2027-07-13T10:00:00+01:00", "2027-07-13T12:00:00+01:00", 1),
        ("slot-2", "2027-07-13T12:00:00+01:00", "2027-07-13T13:00:00+01:00", 0),
    ]
    # Shortened so that a slot no longer fits: refused, with what to do.
    status, problem = await api("PATCH", path, {"end": "2027-07-13T12:30"})
    assert status == 422, problem
    assert "would not be within the call's new times" in problem["detail"]
