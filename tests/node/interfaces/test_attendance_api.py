"""``/api/v1/chapters/{chapter}/actions/{ulid}/attendance`` over real HTTP: organisers read and
record who came (names, walk-ins, a count, undo); anyone else is refused, bad input is 422 and
records nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.rig.api import call_api


async def test_organisers_read_and_record_attendance_and_nobody_else_does(nodes):
    node = await nodes()
    await node.chapter("greenpark")
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    mia = await node.member("mia", chapter="greenpark")
    nia = await node.member("nia", chapter="greenpark")
    now = datetime.now(UTC).replace(microsecond=0)
    status, call = await call_api(
        node.base_url,
        olga.token,
        "POST",
        "/api/v1/chapters/greenpark/actions",
        {
            "title": "Canal clean-up",
            "start": (now - timedelta(hours=1)).isoformat(),
            "end": (now + timedelta(hours=2)).isoformat(),
        },
    )
    assert status == 201, call
    status, _ = await call_api(
        node.base_url, mia.token, "POST", "/api/v1/rsvps", {"call": call["id"]}
    )
    assert status == 200
    path = (
        "/api/v1/chapters/greenpark" + call["id"].split("/actors/greenpark", 1)[1] + "/attendance"
    )

    assert (await call_api(node.base_url, None, "GET", path))[0] == 401
    for method, body in (("GET", None), ("POST", {"walk_ins": 5})):
        status, problem = await call_api(node.base_url, nia.token, method, path, body)
        assert status == 403 and "not an organiser" in problem["detail"], problem

    status, empty = await call_api(node.base_url, olga.token, "GET", path)
    assert status == 200, empty
    assert (empty["came"], empty["attendees"]) == (0, [])
    assert re.fullmatch(r"[0-9A-Z]{8}", empty["checkin_code"])

    status, now_ = await call_api(
        node.base_url,
        olga.token,
        "POST",
        path,
        {"people": ["mia"], "walk_in_names": ["Jo Bloggs"], "walk_ins": 2},
    )
    assert status == 200, now_
    assert (now_["came"], now_["checked_in"], now_["named_walk_ins"], now_["walk_ins"]) == (
        4, 1, 1, 2,
    )  # fmt: skip
    assert [(a["actor"], a["name"]) for a in now_["attendees"]] == [
        (mia.actor.ap_id, "mia"),
        (None, "Jo Bloggs"),
    ]
    assert now_["checkin_code"] == empty["checkin_code"]

    for bad, word in (
        ({"people": ["nobody"]}, "not a participant"),
        ({"people": ["mia"], "walk_ins": 99, "undo": True}, "fewer than 99"),
        ({"walk_ins": -1}, "0 or more"),
        ({"walk_ins": "3"}, "whole number"),
        ({"undo": "yes"}, "true or false"),
        ({"people": "mia"}, "list of strings"),
        ({"everyone": True}, "not a field"),
    ):
        status, problem = await call_api(node.base_url, olga.token, "POST", path, bad)
        assert status == 422 and word in problem["detail"], (bad, problem)
    status, same = await call_api(node.base_url, olga.token, "GET", path)
    assert same["came"] == 4, same  # nothing of the refused changes was kept

    status, undone = await call_api(
        node.base_url, olga.token, "POST", path, {"people": [mia.actor.ap_id], "undo": True}
    )
    assert status == 200 and undone["came"] == 3 and undone["checked_in"] == 0
