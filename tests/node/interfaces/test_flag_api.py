"""``POST /api/v1/flags/{id}/resolve``: admins close abuse reports with a note, over real HTTP.

200 with the resolved flag; 404 for an unknown id; 409 for a flag resolved before; 403 for
anyone but an admin; 400/415/422 for a bad body. A refusal changes nothing, and every answer is
one the OpenAPI document gives for the operation, matching its schema.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from jsonschema import Draft202012Validator

from storage.models import Flag
from tests.rig.api import call_api
from tests.rig.nodes import Node

PATH = "/api/v1/flags/{id}/resolve"


async def raw_post(
    node: Node, token: str | None, path: str, data: bytes, content_type: str
) -> tuple[int, Any]:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as http,
        http.post(node.base_url + path, data=data, headers=headers) as resp,
    ):
        assert resp.content_type == "application/problem+json"
        return resp.status, await resp.json(content_type=None)


@pytest.fixture
async def world(nodes) -> dict[str, Any]:
    node = await nodes()
    await node.chapter("greenpark")
    ada = await node.member("ada", role="admin")
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    mo = await node.member("mo", role="member", chapter="greenpark")
    status, flag = await call_api(
        node.base_url,
        mo.token,
        "POST",
        "/api/v1/flags",
        {"target": "https://bad.example/users/troll", "comment": "spam"},
    )
    assert status == 201, flag
    _, doc = await call_api(node.base_url, None, "GET", "/api/openapi.json")
    return {
        "node": node,
        "ada": ada.token,
        "olga": olga.token,
        "mo": mo.token,
        "flag": flag,
        "doc": doc,
    }


def check(doc: dict[str, Any], status: int, body: Any) -> None:
    """The answer is documented for the operation and matches its schema."""
    responses = doc["paths"][PATH]["post"]["responses"]
    assert str(status) in responses, status
    content = responses[str(status)].get("content", {}).get("application/json")
    if content is not None:
        Draft202012Validator({**content["schema"], "components": doc["components"]}).validate(body)
    else:
        schema = {"$ref": "#/components/schemas/Problem", "components": doc["components"]}
        Draft202012Validator(schema).validate(body)
        assert body["status"] == status


async def still_open(node: Node, flag_id: int) -> None:
    async with node.services.db.read() as session:
        row = await session.get(Flag, flag_id)
    assert row is not None
    assert (row.state, row.resolution, row.resolved_by, row.resolved_at) == (
        "open",
        None,
        None,
        None,
    )


async def test_an_admin_resolves_a_flag_and_it_stays_resolved(world):
    node, doc, flag_id = world["node"], world["doc"], world["flag"]["id"]
    path = f"/api/v1/flags/{flag_id}/resolve"
    status, body = await call_api(
        node.base_url, world["ada"], "POST", path, {"note": "Suspended bad.example."}
    )
    assert status == 200, body
    check(doc, status, body)
    assert body["id"] == flag_id and body["state"] == "resolved"
    assert body["resolved_by"] == f"{node.base_url}/actors/ada"
    assert body["resolution"] == "Suspended bad.example." and body["resolved"]

    status, again = await call_api(node.base_url, world["ada"], "POST", path, {"note": "Other."})
    assert status == 409, again
    check(doc, status, again)
    assert "already resolved" in again["detail"]
    async with node.services.db.read() as session:
        row = await session.get(Flag, flag_id)
    assert row.resolution == "Suspended bad.example."

    # The queue no longer lists it; with ?all it is there, with who and how.
    status, queue = await call_api(node.base_url, world["ada"], "GET", "/api/v1/admin/flags")
    assert status == 200 and queue["items"] == []
    status, everything = await call_api(
        node.base_url, world["ada"], "GET", "/api/v1/admin/flags?all=1"
    )
    assert [f["resolution"] for f in everything["items"]] == ["Suspended bad.example."]


async def test_refusals_answer_precise_problems_and_change_nothing(world):
    node, doc, flag_id = world["node"], world["doc"], world["flag"]["id"]
    path = f"/api/v1/flags/{flag_id}/resolve"
    note = {"note": "Suspended."}
    base = node.base_url

    for token in (world["mo"], world["olga"]):  # a member, a chapter organiser: not admins
        status, body = await call_api(base, token, "POST", path, note)
        assert status == 403, body
        check(doc, status, body)
    status, body = await call_api(base, None, "POST", path, note)
    assert status == 401
    check(doc, status, body)

    for unknown in ("999999", "abc", "0", "99999999999999999999999"):
        status, body = await call_api(
            base, world["ada"], "POST", f"/api/v1/flags/{unknown}/resolve", note
        )
        assert status == 404, (unknown, body)
        check(doc, status, body)
        assert "no abuse report" in body["detail"]

    for bad, field in (
        ({}, "note"),
        ({"note": "  "}, "note"),
        ({"note": 5}, "note"),
        ({"note": "x" * 5001}, "note"),
    ):
        status, body = await call_api(base, world["ada"], "POST", path, bad)
        assert status == 422, (bad, body)
        check(doc, status, body)
        assert field in body["detail"]
    for data in (b'{"note": "Suspended.', b'["Suspended."]'):
        status, body = await raw_post(node, world["ada"], path, data, "application/json")
        assert status == 400, (data, body)
        check(doc, status, body)
    status, body = await raw_post(node, world["ada"], path, b"note=Suspended.", "text/plain")
    assert status == 415
    check(doc, status, body)

    await still_open(node, flag_id)
