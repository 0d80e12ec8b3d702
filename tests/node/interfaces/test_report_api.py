"""Reports over the JSON API: create, read, correct (a patch) and retract, with the CLI's rules.

One live report per call (a second is 409 Conflict naming the first); bad input is 422 naming
the field; answers match the schemas the OpenAPI document gives them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.rig.api import call_api
from tests.rig.nodes import Node

# Under way: an action is reported on once it has started.
NOW = datetime.now(UTC).replace(microsecond=0)
CALL = {
    "title": "Canal clean-up",
    "start": (NOW - timedelta(hours=2)).isoformat(),
    "end": (NOW + timedelta(hours=1)).isoformat(),
}
REPORT = {
    "metrics": [
        {"metric": "participants", "unit": "people", "value": 42, "method": "counted"},
        {"metric": "kg_litter", "unit": "kg", "value": 120.5, "method": "counted"},
    ],
    "text": "42 of us cleared 120.5 kg.",
}


@dataclass
class World:
    node: Node
    organiser: str
    member: str
    call_path: str  # /api/v1/chapters/greenpark/actions/{ulid}
    doc: dict[str, Any]

    async def api(self, method: str, path: str, body: Any = None, *, token: str | None = None):
        return await call_api(self.node.base_url, token or self.organiser, method, path, body)

    def report_path(self, report_id: str) -> str:
        return f"/api/v1/chapters/greenpark/reports/{report_id.rsplit('/', 1)[1]}"

    def check(self, template: str, method: str, status: int, body: Any) -> None:
        """The answer is documented for the operation and matches its schema."""
        responses = self.doc["paths"][template][method.lower()]["responses"]
        assert str(status) in responses, (method, template, status)
        content = responses[str(status)].get("content", {}).get("application/json")
        if content is not None:
            schema = {**content["schema"], "components": self.doc["components"]}
            Draft202012Validator(schema).validate(body)


@pytest.fixture
async def world(nodes) -> World:
    node = await nodes()
    await node.chapter("greenpark")
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    mo = await node.member("mo", role="member", chapter="greenpark")
    status, call = await call_api(
        node.base_url, olga.token, "POST", "/api/v1/chapters/greenpark/actions", CALL
    )
    assert status == 201, call
    status, doc = await call_api(node.base_url, None, "GET", "/api/openapi.json")
    assert status == 200
    ulid = call["id"].rsplit("/", 1)[1]
    return World(node, olga.token, mo.token, f"/api/v1/chapters/greenpark/actions/{ulid}", doc)


CREATE = "/api/v1/chapters/{chapter}/actions/{ulid}/report"
ONE = "/api/v1/chapters/{chapter}/reports/{ulid}"


def metrics(body: dict[str, Any]) -> dict[tuple[str, str], tuple[float, str]]:
    return {(m["metric"], m["unit"]): (m["value"], m["method"]) for m in body["metrics"]}


async def test_create_correct_by_patch_and_retract(world):
    status, created = await world.api("POST", f"{world.call_path}/report", REPORT)
    assert status == 201, created
    world.check(CREATE, "POST", 201, created)
    report_id = created["id"]
    assert report_id.startswith(world.node.base_url + "/actors/greenpark/reports/")
    assert metrics(created) == {
        ("participants", "people"): (42, "counted"),
        ("kg_litter", "kg"): (120.5, "counted"),
    }
    assert created["text"] == REPORT["text"] and created["retracted"] is False
    one = world.report_path(report_id)
    status, read = await world.api("GET", one)
    assert status == 200 and read == created
    world.check(ONE, "GET", 200, read)

    # One metric set: the others stay.
    change = {
        "set": [{"metric": "participants", "unit": "people", "value": 50, "method": "estimated"}]
    }
    status, patched = await world.api("PATCH", one, change)
    assert status == 200, patched
    world.check(ONE, "PATCH", 200, patched)
    assert metrics(patched) == {
        ("participants", "people"): (50, "estimated"),
        ("kg_litter", "kg"): (120.5, "counted"),
    }
    assert patched["text"] == REPORT["text"] and patched["updated"] is not None

    # One metric removed, one added, in one patch.
    change = {
        "remove": [{"metric": "kg_litter", "unit": "kg"}],
        "set": [{"metric": "bags", "unit": "bags", "value": 7}],
    }
    status, patched = await world.api("PATCH", one, change)
    assert status == 200, patched
    assert metrics(patched) == {
        ("participants", "people"): (50, "estimated"),
        ("bags", "bags"): (7, "counted"),
    }

    # replace: the given list is the whole list; text changes the sentence.
    change = {
        "set": [{"metric": "trees", "unit": "trees", "value": 3}],
        "replace": True,
        "text": "We planted three trees.",
    }
    status, patched = await world.api("PATCH", one, change)
    assert status == 200, patched
    assert metrics(patched) == {("trees", "trees"): (3, "counted")}
    assert patched["text"] == "We planted three trees."

    status, retracted = await world.api("DELETE", one)
    assert status == 200, retracted
    world.check(ONE, "DELETE", 200, retracted)
    assert retracted["id"] == report_id and retracted["retracted"] is True
    status, problem = await world.api("PATCH", one, {"set": REPORT["metrics"]})
    assert status == 422 and "retracted" in problem["detail"], problem

    # With the report retracted, the call may be reported on again.
    status, again = await world.api("POST", f"{world.call_path}/report", REPORT)
    assert status == 201, again
    assert again["id"] != report_id


def names(problem: dict[str, Any], field: str) -> bool:
    return re.search(rf"\b{re.escape(field)}\b", problem["detail"]) is not None


async def test_refusals_409_for_a_second_report_and_422_naming_the_field(world):
    create = f"{world.call_path}/report"
    status, first = await world.api("POST", create, REPORT)
    assert status == 201, first
    one = world.report_path(first["id"])

    status, problem = await world.api("POST", create, REPORT)
    assert status == 409, problem
    world.check(CREATE, "POST", 409, problem)
    assert problem["status"] == 409
    assert first["id"] in problem["detail"]
    assert f"PATCH {one}" in problem["detail"]

    bad_creates = [
        ("metrics", {"metrics": []}),
        ("metrics", {"text": "no numbers"}),
        (
            "metrics",
            {"metrics": [{"metric": "participants", "unit": "people", "value": -1}]},
        ),
        ("colour", {**REPORT, "colour": "green"}),
        ("text", {**REPORT, "text": 42}),
    ]
    for field, body in bad_creates:
        status, problem = await world.api("POST", create, body)
        # A second report is refused whatever it holds; the field errors come first.
        assert status == 422, (field, status, problem)
        assert names(problem, field), (field, problem)

    bad_patches = [
        ("set", {"set": [{"metric": "participants", "unit": "people", "value": "many"}]}),
        ("remove", {"remove": [{"metric": "trees", "unit": "trees"}]}),
        (
            "remove",
            {
                "remove": [
                    {"metric": "participants", "unit": "people"},
                    {"metric": "kg_litter", "unit": "kg"},
                ]
            },
        ),
        ("remove", {"remove": "kg_litter"}),
        ("replace", {"replace": "yes"}),
        ("set", {"replace": True}),
        ("colour", {"colour": "green"}),
    ]
    for field, body in bad_patches:
        status, problem = await world.api("PATCH", one, body)
        assert status == 422, (field, status, problem)
        world.check(ONE, "PATCH", 422, problem)
        assert names(problem, field), (field, problem)

    # A member who is not an organiser.
    for method, path, body in [
        ("PATCH", one, {"set": REPORT["metrics"]}),
        ("DELETE", one, None),
    ]:
        status, problem = await world.api(method, path, body, token=world.member)
        assert status == 403, (method, problem)

    status, unknown = await world.api(
        "GET", "/api/v1/chapters/greenpark/reports/01NOSUCHREPORT000000000000"
    )
    assert status == 404, unknown

    # Nothing of the refused requests changed the report.
    status, read = await world.api("GET", one)
    assert status == 200 and read == first
