"""``GET /api/v1/notifications`` and ``POST /api/v1/notifications/read`` on a real node: the
token's member's own list, newest first, as the OpenAPI document describes it; marking read by
id or all; refusals that change nothing."""

from __future__ import annotations

from typing import Any

from node.features.notifications.kinds import Kind
from tests.node.interfaces.test_openapi import schema_validator
from tests.rig.api import call_api
from tests.rig.notifying import organiser_and_call, tell


async def _setup(nodes) -> tuple[Any, dict[str, str], list[int], int]:
    node = await nodes()
    _, call = await organiser_and_call(node)
    ada = await node.member("ada", chapter="greenpark")
    bo = await node.member("bo", chapter="greenpark")
    ids = []
    for kind in (Kind.ACCEPTED, Kind.CHANGED, Kind.REMINDER):
        row = await tell(node, "ada", kind, call, offset_minutes=120)
        assert row is not None
        ids.append(row.id)
    other = await tell(node, "bo", Kind.ACCEPTED, call)
    assert other is not None and ada.token and bo.token
    return node, {"ada": ada.token, "bo": bo.token}, ids, other.id


async def test_the_member_lists_their_own_notifications_newest_first(nodes):
    node, tokens, ids, bos = await _setup(nodes)
    status, body = await call_api(node.base_url, tokens["ada"], "GET", "/api/v1/notifications")
    assert status == 200, body
    _, doc = await call_api(node.base_url, None, "GET", "/api/openapi.json")
    schema_validator(doc, "NotificationList").validate(body)
    assert [n["id"] for n in body["items"]] == ids[::-1]  # newest first; never bo's
    assert body["unread"] == 3
    first = body["items"][-1]
    assert first["kind"] == "rsvp_accepted"
    assert first["subject"] == "You're going: Canal clean-up"
    assert first["text"].startswith("Your place at Canal clean-up is confirmed")
    assert first["call"].startswith(node.base_url) and first["url"] == first["call"]
    assert first["read"] is False and first["createdAt"].endswith("Z")
    assert body["items"][0]["subject"] == "Reminder: Canal clean-up in 2 hours"

    # Mark one read (and bo's id: not ada's, so nothing happens to it).
    status, marked = await call_api(
        node.base_url, tokens["ada"], "POST", "/api/v1/notifications/read", {"ids": [ids[0], bos]}
    )
    assert status == 200 and marked == {"marked": 1, "unread": 2}, marked
    schema_validator(doc, "MarkedRead").validate(marked)
    _, unread = await call_api(
        node.base_url, tokens["ada"], "GET", "/api/v1/notifications?unread=true"
    )
    assert [n["id"] for n in unread["items"]] == ids[:0:-1]
    _, all_of_them = await call_api(node.base_url, tokens["ada"], "GET", "/api/v1/notifications")
    assert [n["read"] for n in all_of_them["items"]] == [False, False, True]

    status, marked = await call_api(
        node.base_url, tokens["ada"], "POST", "/api/v1/notifications/read", {"all": True}
    )
    assert status == 200 and marked == {"marked": 2, "unread": 0}
    _, bos_list = await call_api(node.base_url, tokens["bo"], "GET", "/api/v1/notifications")
    assert [(n["id"], n["read"]) for n in bos_list["items"]] == [(bos, False)]


async def test_bad_requests_are_refused_and_change_nothing(nodes):
    node, tokens, ids, _ = await _setup(nodes)
    path = "/api/v1/notifications/read"
    bad_bodies: list[tuple[Any, int]] = [
        ({}, 422),
        ({"ids": []}, 422),
        ({"ids": ["1"]}, 422),
        ({"ids": [True]}, 422),
        ({"ids": [-1]}, 422),
        ({"ids": [2**70]}, 422),
        ({"ids": list(range(1, 502))}, 422),
        ({"all": "yes"}, 422),
        ({"all": True, "ids": [ids[0]]}, 422),
        ({"everything": True}, 422),
        ([ids[0]], 400),
    ]
    for body, expected in bad_bodies:
        status, answer = await call_api(node.base_url, tokens["ada"], "POST", path, body)
        assert status == expected, (body, status, answer)
        assert answer["status"] == expected
    for query in ("?unread=maybe", "?limit=0", "?limit=x", "?limit=1000"):
        status, _ = await call_api(
            node.base_url, tokens["ada"], "GET", f"/api/v1/notifications{query}"
        )
        assert status == 400, query
    for token in (None, "chp_not-a-token"):
        status, _ = await call_api(node.base_url, token, "GET", "/api/v1/notifications")
        assert status == 401
        status, _ = await call_api(node.base_url, token, "POST", path, {"all": True})
        assert status == 401
    _, listed = await call_api(node.base_url, tokens["ada"], "GET", "/api/v1/notifications")
    assert listed["unread"] == 3
