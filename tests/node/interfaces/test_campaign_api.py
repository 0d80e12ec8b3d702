"""Campaigns over the JSON API: create (admins only), members (pending until approved),
exclusions (a reason required; including what is not excluded is 404) and adoption (taking the
same call up twice gives the same call). Answers match the OpenAPI document."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from jsonschema import Draft202012Validator

from node.features.following.follow import follow
from node.features.impact.exclusions import list_exclusions
from tests.rig.api import call_api
from tests.rig.nodes import Node

CAMPAIGNS = "/api/v1/campaigns"
MEMBERS = "/api/v1/campaigns/{campaign}/members"
EXCLUSIONS = "/api/v1/campaigns/{campaign}/exclusions"
ADOPTIONS = "/api/v1/chapters/{chapter}/adoptions"
REASON = "Counted twice: the regional campaign reports these numbers"
CALL = {
    "title": "Global litter pick",
    "start": "2027-04-12T10:00:00+01:00",
    "end": "2027-04-12T13:00:00+01:00",
    "timezone": "Europe/London",
    "targets": [{"metric": "kg_litter", "unit": "kg", "target": 1000}],
}


@dataclass
class World:
    node: Node
    admin: str
    organiser: str  # of greenpark, not of the campaign
    member: str  # of greenpark
    doc: dict[str, Any]
    chapter: str  # greenpark's IRI

    async def api(self, token: str, method: str, path: str, body: Any = None):
        return await call_api(self.node.base_url, token, method, path, body)

    def check(self, template: str, method: str, status: int, body: Any) -> None:
        """The answer is documented for the operation and matches its schema."""
        responses = self.doc["paths"][template][method.lower()]["responses"]
        assert str(status) in responses, (method, template, status)
        content = responses[str(status)].get("content", {}).get("application/json")
        if content is not None:
            schema = {**content["schema"], "components": self.doc["components"]}
            Draft202012Validator(schema).validate(body)

    async def members(self, token: str) -> dict[str, str]:
        status, body = await self.api(token, "GET", "/api/v1/campaigns/climate/members")
        assert status == 200, body
        self.check(MEMBERS, "GET", 200, body)
        return {m["chapter"]: m["state"] for m in body["members"]}


@pytest.fixture
async def world(nodes) -> World:
    node = await nodes()
    ada = await node.member("ada", role="admin")
    greenpark = await node.chapter("greenpark")
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    mo = await node.member("mo", role="member", chapter="greenpark")
    status, doc = await call_api(node.base_url, None, "GET", "/api/openapi.json")
    assert status == 200
    return World(node, ada.token, olga.token, mo.token, doc, greenpark.actor.ap_id)


async def create_climate(world: World) -> str:
    """The campaign, holding new members pending; its organiser cora; returns cora's token."""
    body = {"name": "climate", "title": "Climate Day", "approve_chapters": True}
    status, created = await world.api(world.admin, "POST", CAMPAIGNS, body)
    assert status == 201, created
    cora = await world.node.member("cora", role="organiser", chapter="climate")
    return cora.token


def problem_names(problem: dict[str, Any], field: str) -> bool:
    return re.search(rf"\b{re.escape(field)}\b", problem["detail"]) is not None


async def test_only_admins_create_campaigns_and_a_name_is_taken_once(world):
    body = {"name": "climate", "title": "Climate Day", "approve_chapters": True}
    for token in (world.organiser, world.member):
        status, problem = await world.api(token, "POST", CAMPAIGNS, body)
        assert status == 403, (status, problem)
        world.check(CAMPAIGNS, "POST", 403, problem)
    status, problem = await world.api(world.admin, "GET", "/api/v1/campaigns/climate/members")
    assert status == 404, "a refused create made the campaign"

    status, created = await world.api(world.admin, "POST", CAMPAIGNS, body)
    assert status == 201, created
    world.check(CAMPAIGNS, "POST", 201, created)
    assert created == {
        "id": f"{world.node.base_url}/actors/climate",
        "name": "climate",
        "approve_chapters": True,
    }
    status, none = await world.api(world.admin, "GET", "/api/v1/campaigns/climate/members")
    assert status == 200 and none == {"members": []}, none

    for name in ("climate", "greenpark"):  # a campaign's name, and a chapter's
        status, problem = await world.api(world.admin, "POST", CAMPAIGNS, {**body, "name": name})
        assert status == 409, (name, status, problem)
        world.check(CAMPAIGNS, "POST", 409, problem)
    status, problem = await world.api(world.admin, "POST", CAMPAIGNS, {"title": "No name"})
    assert status == 422 and problem_names(problem, "name"), problem


async def test_a_chapter_waits_pending_until_an_organiser_approves_it(world):
    cora = await create_climate(world)
    campaign = f"{world.node.base_url}/actors/climate"
    joined = await follow(world.node.services, "greenpark", campaign)
    assert joined.state == "pending"
    assert await world.members(world.member) == {world.chapter: "pending"}

    approve = "/api/v1/campaigns/climate/members"
    # An organiser of the chapter is not an organiser of the campaign.
    status, problem = await world.api(world.organiser, "POST", approve, {"chapter": world.chapter})
    assert status == 403, (status, problem)
    world.check(MEMBERS, "POST", 403, problem)
    assert await world.members(cora) == {world.chapter: "pending"}

    status, approved = await world.api(cora, "POST", approve, {"chapter": world.chapter})
    assert status == 200, approved
    world.check(MEMBERS, "POST", 200, approved)
    assert approved == {"chapter": world.chapter, "state": "accepted"}
    assert await world.members(cora) == {world.chapter: "accepted"}

    # Nothing pending any more: approving again (or a stranger) is 404.
    for chapter in (world.chapter, f"{world.node.base_url}/actors/nobody"):
        status, problem = await world.api(cora, "POST", approve, {"chapter": chapter})
        assert status == 404, (chapter, status, problem)
        world.check(MEMBERS, "POST", 404, problem)
    status, problem = await world.api(cora, "POST", approve, {})
    assert status == 422 and problem_names(problem, "chapter"), problem
    status, problem = await world.api(
        cora, "POST", "/api/v1/campaigns/greenpark/members", {"chapter": world.chapter}
    )
    assert status == 404, "a chapter is not a campaign"


async def test_an_exclusion_needs_a_reason_and_only_what_is_excluded_is_included_again(world):
    cora = await create_climate(world)
    await follow(world.node.services, "greenpark", f"{world.node.base_url}/actors/climate")
    path = "/api/v1/campaigns/climate/exclusions"
    include = f"{path}?target={quote(world.chapter, safe='')}"

    for body in (
        {"target": world.chapter},
        {"target": world.chapter, "reason": ""},
        {"target": world.chapter, "reason": "   "},
        {"target": world.chapter, "reason": 7},
    ):
        status, problem = await world.api(cora, "POST", path, body)
        assert status == 422, (body, status, problem)
        world.check(EXCLUSIONS, "POST", 422, problem)
        assert problem_names(problem, "reason"), problem
    status, problem = await world.api(cora, "POST", path, {"reason": REASON})
    assert status == 422 and problem_names(problem, "target"), problem
    status, problem = await world.api(
        world.organiser, "POST", path, {"target": world.chapter, "reason": REASON}
    )
    assert status == 403, (status, problem)
    assert await list_exclusions(world.node.services, "climate") == []

    status, problem = await world.api(cora, "DELETE", include)
    assert status == 404, (status, problem)
    world.check(EXCLUSIONS, "DELETE", 404, problem)
    assert "is not excluded" in problem["detail"]

    status, excluded = await world.api(
        cora, "POST", path, {"target": world.chapter, "reason": REASON}
    )
    assert status == 201, excluded
    world.check(EXCLUSIONS, "POST", 201, excluded)
    assert excluded == {"target": world.chapter, "reason": REASON, "reports": 0}
    shown = await list_exclusions(world.node.services, "climate")
    assert [(e.target, e.reason) for e in shown] == [(world.chapter, REASON)]
    # Still pending: an exclusion never hides a request an organiser has to answer.
    assert await world.members(cora) == {world.chapter: "pending"}
    status, problem = await world.api(
        cora, "POST", path, {"target": world.chapter, "reason": "another reason"}
    )
    assert status == 409 and REASON in problem["detail"], (status, problem)
    world.check(EXCLUSIONS, "POST", 409, problem)

    status, problem = await world.api(world.organiser, "DELETE", include)
    assert status == 403, (status, problem)
    status, included = await world.api(cora, "DELETE", include)
    assert status == 200, included
    world.check(EXCLUSIONS, "DELETE", 200, included)
    assert included == {"target": world.chapter, "reports": 0}
    assert await list_exclusions(world.node.services, "climate") == []
    assert await world.members(cora) == {world.chapter: "pending"}
    status, problem = await world.api(cora, "DELETE", include)
    assert status == 404, "included twice"


async def test_taking_up_a_campaign_call_twice_gives_the_same_call(world):
    cora = await create_climate(world)
    status, call = await world.api(cora, "POST", "/api/v1/chapters/climate/actions", CALL)
    assert status == 201, call
    adopt = "/api/v1/chapters/greenpark/adoptions"

    status, problem = await world.api(world.member, "POST", adopt, {"call": call["id"]})
    assert status == 403, (status, problem)
    world.check(ADOPTIONS, "POST", 403, problem)

    status, first = await world.api(world.organiser, "POST", adopt, {"call": call["id"]})
    assert status == 200, first
    world.check(ADOPTIONS, "POST", 200, first)
    assert first["id"].startswith(f"{world.node.base_url}/actors/greenpark/actions/")
    assert first["title"] == CALL["title"]
    status, again = await world.api(world.organiser, "POST", adopt, {"call": call["id"]})
    assert status == 200, again
    assert again["id"] == first["id"]

    status, listed = await world.api(world.organiser, "GET", "/api/v1/chapters/greenpark/actions")
    assert status == 200, listed
    assert [c["id"] for c in listed["items"]] == [first["id"]]

    unknown = f"{world.node.base_url}/actors/climate/actions/01NOSUCHCALL00000000000000"
    status, problem = await world.api(world.organiser, "POST", adopt, {"call": unknown})
    assert status == 404, (status, problem)
    world.check(ADOPTIONS, "POST", 404, problem)
