"""Public reads over the JSON API: anyone may read a node's chapters, their calls and a
campaign's totals and history, from any origin (CORS) and revalidating by ETag; writes and a
member's own data still need a token; and nothing a public page does not show comes out."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import orjson
import pytest
from jsonschema import Draft202012Validator
from multidict import CIMultiDict

from node.features.actors.authz import principal_by_name
from node.features.calls.checkin_code import checkin_code
from storage.repositories import actors as actor_repo
from tests.node.interfaces.api.public_world import SECRET_EMAIL, PublicWorld, public_world

ORIGIN = {"Origin": "https://elsewhere.example"}


def ulid(call: str) -> str:
    return call.rsplit("/", 1)[-1]


def reads(world: PublicWorld) -> dict[str, str]:
    """Each public read: its OpenAPI path template → a real path."""
    return {
        "/api/v1/chapters": "/api/v1/chapters",
        "/api/v1/chapters/{chapter}": "/api/v1/chapters/greenpark",
        "/api/v1/chapters/{chapter}/actions": "/api/v1/chapters/greenpark/actions",
        "/api/v1/chapters/{chapter}/actions/{ulid}": (
            f"/api/v1/chapters/greenpark/actions/{ulid(world.greenpark_call)}"
        ),
        "/api/v1/campaigns/{campaign}/totals": "/api/v1/campaigns/rivers/totals",
        "/api/v1/campaigns/{campaign}/history": "/api/v1/campaigns/rivers/history",
    }


@pytest.fixture
async def world(nodes) -> PublicWorld:
    return await public_world(await nodes())


async def fetch(
    world: PublicWorld,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: Any = None,
) -> tuple[int, CIMultiDict[str], bytes]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method, f"{world.node.base_url}{path}", headers=headers or {}, json=body
        ) as resp,
    ):
        return resp.status, CIMultiDict(resp.headers), await resp.read()


async def test_reads_answer_anyone_with_cors_and_match_the_openapi_document(world):
    status, _, raw = await fetch(world, "GET", "/api/openapi.json")
    doc = orjson.loads(raw)
    for template, path in reads(world).items():
        status, headers, raw = await fetch(world, "GET", path, headers=ORIGIN)
        assert status == 200, (path, raw)
        assert headers["Access-Control-Allow-Origin"] == "*", path
        assert "ETag" in headers["Access-Control-Expose-Headers"], path
        assert "Access-Control-Allow-Credentials" not in headers  # anonymous reads only
        assert re.fullmatch(r'"[0-9a-f]{32}"', headers["ETag"]), headers
        assert headers["Cache-Control"] == "public, max-age=60"
        operation = doc["paths"][template]["get"]
        assert operation["security"] == [], template  # documented as needing no token
        assert "304" in operation["responses"], template
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        Draft202012Validator({**schema, "components": doc["components"]}).validate(
            orjson.loads(raw)
        )

    _, _, raw = await fetch(world, "GET", "/api/v1/campaigns/rivers/totals")
    totals = orjson.loads(raw)
    assert totals["chapterCount"] == 1
    assert totals["totals"] == [{"metric": "kg_litter", "unit": "kg", "value": 1234}]
    _, _, raw = await fetch(world, "GET", "/api/v1/chapters/greenpark/actions")
    titles = sorted(c["title"] for c in orjson.loads(raw)["items"])
    assert titles == ["Global river clean-up", "Park walk"]
    _, _, raw = await fetch(world, "GET", "/api/v1/chapters")
    listed = {c["name"]: c for c in orjson.loads(raw)["items"]}
    assert sorted(listed) == ["greenpark", "rivers"]  # no member, no instance actor
    assert listed["greenpark"]["place"]["name"] == "Green Park"
    assert listed["greenpark"]["topics"] == ["litter"]

    # A token holder reads the same data, revalidated each time (it may just have changed it).
    auth = {"Authorization": f"Bearer {world.organiser}"}
    status, headers, raw = await fetch(
        world, "GET", "/api/v1/campaigns/rivers/totals", headers=auth
    )
    assert status == 200 and orjson.loads(raw) == totals
    assert headers["Cache-Control"] == "private, no-cache"
    # A token that is sent is still checked.
    bad = {"Authorization": "Bearer chp_never-issued"}
    status, headers, _ = await fetch(world, "GET", "/api/v1/chapters", headers=bad)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert headers["Access-Control-Allow-Origin"] == "*"


async def test_unknown_names_are_404_problems_a_page_can_read(world):
    for path in (
        "/api/v1/chapters/nowhere",
        "/api/v1/chapters/mo",  # a member is not a chapter
        "/api/v1/chapters/nowhere/actions",
        "/api/v1/campaigns/greenpark/totals",  # a chapter is not a campaign
        "/api/v1/campaigns/nowhere/history",
        "/api/v1/chapters/greenpark/actions/01ARZ3NDEKTSV4RRFFQ69G5FAV",
    ):
        status, headers, raw = await fetch(world, "GET", path, headers=ORIGIN)
        assert status == 404, (path, raw)
        assert headers["Content-Type"] == "application/problem+json", path
        assert headers["Access-Control-Allow-Origin"] == "*", path


async def test_writes_and_private_reads_still_need_a_token(world):
    """The same paths read without a token, but write only with one."""
    call = f"/api/v1/chapters/greenpark/actions/{ulid(world.greenpark_call)}"
    for path in ("/api/v1/chapters/greenpark/actions", call):
        status, _, raw = await fetch(world, "GET", path, headers=ORIGIN)
        assert status == 200, (path, raw)
    new_call = {
        "title": "Sneaky",
        "start": "2027-04-12T10:00:00+01:00",
        "end": "2027-04-12T13:00:00+01:00",
        "timezone": "Europe/London",
    }
    for method, path, body in (
        ("POST", "/api/v1/chapters/greenpark/actions", new_call),
        ("PATCH", call, {"title": "Renamed"}),
        ("POST", f"{call}/cancel", {}),
        ("POST", "/api/v1/campaigns", {"name": "sneaky"}),
        ("POST", "/api/v1/campaigns/rivers/exclusions", {"target": world.chapter, "reason": "x"}),
        ("GET", "/api/v1/me", None),
        ("GET", "/api/v1/feed", None),
        ("GET", "/api/v1/commitments", None),
        ("GET", f"{call}/participants", None),
        ("GET", f"{call}/attendance", None),
        ("GET", "/api/v1/campaigns/rivers/members", None),
    ):
        status, headers, raw = await fetch(world, method, path, headers=ORIGIN, body=body)
        assert status == 401, (method, path, raw)
        assert "Access-Control-Allow-Origin" not in headers, (method, path)
    _, _, raw = await fetch(world, "GET", "/api/v1/chapters/greenpark/actions")
    assert [c["title"] for c in orjson.loads(raw)["items"]].count("Sneaky") == 0
    assert "Renamed" not in raw.decode()


async def test_preflight_allows_reads_from_any_origin_and_nothing_else(world):
    asks = {
        **ORIGIN,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match",
    }
    for path in reads(world).values():
        status, headers, raw = await fetch(world, "OPTIONS", path, headers=asks)
        assert status == 204 and raw == b"", path
        assert headers["Access-Control-Allow-Origin"] == "*"
        methods = {m.strip() for m in headers["Access-Control-Allow-Methods"].split(",")}
        assert "GET" in methods and not methods & {"POST", "PATCH", "DELETE"}, methods
        assert "if-none-match" in headers["Access-Control-Allow-Headers"].lower()
        assert "authorization" not in headers["Access-Control-Allow-Headers"].lower()
    # A path with no public read has no preflight: a page cannot write cross-origin.
    status, _, _ = await fetch(world, "OPTIONS", "/api/v1/follows", headers=asks)
    assert status in {403, 404, 405}


async def test_etag_revalidation_answers_304_until_the_data_changes(world):
    path = "/api/v1/chapters/greenpark/actions"
    status, headers, first = await fetch(world, "GET", path)
    tag = headers["ETag"]
    status, again, _ = await fetch(world, "GET", path)
    assert again["ETag"] == tag  # the same bytes, the same tag
    for sent in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        status, headers, raw = await fetch(world, "GET", path, headers={"If-None-Match": sent})
        assert status == 304 and raw == b"", sent
        assert headers["ETag"] == tag and headers["Access-Control-Allow-Origin"] == "*"
    status, _, raw = await fetch(world, "GET", path, headers={"If-None-Match": '"stale"'})
    assert status == 200 and raw == first

    # An organiser renames the call (with a token): the old tag no longer matches.
    call = f"/api/v1/chapters/greenpark/actions/{ulid(world.greenpark_call)}"
    auth = {"Authorization": f"Bearer {world.organiser}"}
    status, _, raw = await fetch(world, "PATCH", call, headers=auth, body={"title": "Park run"})
    assert status == 200, raw
    status, headers, raw = await fetch(world, "GET", path, headers={"If-None-Match": tag})
    assert status == 200 and headers["ETag"] != tag and b"Park run" in raw


async def test_nothing_private_leaks_through_a_public_read(world):
    services = world.node.services
    async with services.db.read() as session:
        olga = await principal_by_name(session, "olga")
    code = await checkin_code(services, olga, world.greenpark_call)  # organisers' only
    async with services.db.read() as session:
        mo = await actor_repo.local_actor_by_name(session, "mo")
        chapter = await actor_repo.local_actor_by_name(session, "greenpark")
    assert mo is not None and chapter is not None and mo.password_hash
    secrets = [
        SECRET_EMAIL,
        mo.password_hash,
        "PRIVATE KEY",
        chapter.ed25519_private_pem.splitlines()[1],
        code,
        world.organiser,
        world.admin,
        "/actors/mo",  # members are not listed (the page does not list them either)
        "/actors/olga",
        "checkin",
        "email",
        "password",
    ]
    for path in reads(world).values():
        status, _, raw = await fetch(world, "GET", path)
        assert status == 200, (path, raw)  # read without a token, and then nothing private
        text = raw.decode()
        for secret in secrets:
            assert secret not in text, (path, secret)
