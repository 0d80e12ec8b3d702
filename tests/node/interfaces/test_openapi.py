"""The OpenAPI document of ``/api/v1``: valid, complete, and true to what the node answers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from tests.rig.nodes import Node

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
ACTIONS = "/api/v1/chapters/{chapter}/actions"
GREENPARK_ACTIONS = "/api/v1/chapters/greenpark/actions"
CALL = {
    "title": "Canal clean-up",
    "start": "2027-04-12T10:00:00+01:00",
    "end": "2027-04-12T13:00:00+01:00",
    "timezone": "Europe/London",
    "place": {"name": "Lock 7", "address": "Towpath, Green Park"},
    "capacity": 20,
    "goal": "Clear the towpath",
    "targets": [{"metric": "participants", "unit": "people", "target": 50}],
}


@dataclass
class Answer:
    status: int
    content_type: str
    headers: Any
    body: Any


@dataclass
class Api:
    node: Node
    organiser: str
    member: str

    async def request(
        self,
        method: str,
        path: str,
        token: str | None = None,
        *,
        json: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> Answer:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if content_type:
            headers["Content-Type"] = content_type
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                method, self.node.base_url + path, json=json, data=data, headers=headers
            ) as resp,
        ):
            body = await resp.json(content_type=None) if await resp.read() else None
            return Answer(resp.status, resp.content_type, resp.headers, body)

    async def stored_calls(self) -> list[dict]:
        answer = await self.request("GET", GREENPARK_ACTIONS, self.organiser)
        assert answer.status == 200, answer.body
        return answer.body["items"]

    async def document(self) -> dict[str, Any]:
        answer = await self.request("GET", "/api/openapi.json")  # no token needed
        assert answer.status == 200, answer.body
        assert answer.content_type == "application/json"
        return answer.body


@pytest.fixture
async def api(nodes) -> Api:
    node = await nodes()
    await node.chapter("greenpark")
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    mo = await node.member("mo", role="member", chapter="greenpark")
    return Api(node, olga.token, mo.token)


def schema_validator(doc: dict[str, Any], name: str) -> Draft202012Validator:
    """A JSON Schema validator for ``components.schemas[name]``, resolving its $refs."""
    root = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    return Draft202012Validator(root)


def documented_statuses(doc: dict[str, Any], path: str, method: str) -> set[str]:
    return set(doc["paths"][path][method.lower()]["responses"])


def operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    }


async def test_the_document_is_valid_openapi_and_documents_every_route(api):
    doc = await api.document()
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    assert doc["servers"] == [{"url": api.node.base_url}]

    routed = {
        (route.method, route.resource.canonical)
        for route in api.node.runner.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/v1/")
        and route.method not in {"HEAD", "OPTIONS"}  # aiohttp adds HEAD to every GET
    }
    assert len(routed) >= 10, routed
    documented = operations(doc)
    assert routed - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routed == set(), "documented operations the node does not serve"

    # Every /api/v1 operation authenticates, so every one documents 401 under bearer security.
    assert doc["security"] == [{"bearer": []}]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for method, path in documented:
        assert "401" in documented_statuses(doc, path, method), (method, path)


async def test_refusals_answer_documented_problems_and_store_nothing(api):
    doc = await api.document()
    documented = documented_statuses(doc, ACTIONS, "post")
    problem_schema = schema_validator(doc, "Problem")
    input_schema = schema_validator(doc, "ActionCallInput")
    assert input_schema.is_valid(CALL)

    async def refused(
        expected: int, answer: Answer, *, field: str | None = None, documented_status=True
    ) -> dict[str, Any]:
        assert answer.status == expected, (answer.status, answer.body)
        if documented_status:
            assert str(expected) in documented, f"{expected} is not documented for POST {ACTIONS}"
        assert answer.content_type == "application/problem+json"
        problem_schema.validate(answer.body)
        assert answer.body["status"] == expected
        if field is not None:
            assert re.search(rf"\b{field}\b", answer.body["detail"]), answer.body
        assert await api.stored_calls() == [], f"a refused request ({expected}) stored a call"
        return answer.body

    # No token, then a token the node never issued: 401 with a Bearer challenge.
    for token in (None, "chp_not-a-token-this-node-issued"):
        answer = await api.request("POST", GREENPARK_ACTIONS, token, json=CALL)
        await refused(401, answer)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")

    # A member of the chapter who is not an organiser.
    body = await refused(403, await api.request("POST", GREENPARK_ACTIONS, api.member, json=CALL))
    assert "organiser" in body["detail"]

    # Invalid fields: 422 naming the field.
    invalid = [
        ("end", {**CALL, "end": "2027-04-12T09:00:00+01:00"}),
        ("timezone", {**CALL, "timezone": "Mars/Olympus_Mons"}),
        ("capacity", {**CALL, "capacity": -1}),
        ("colour", {**CALL, "colour": "green"}),
        # An offset that disagrees with the zone (10:00 UTC is 11:00 in London in April).
        ("start", {**CALL, "start": "2027-04-12T10:00:00+00:00"}),
    ]
    for field, call in invalid:
        answer = await api.request("POST", GREENPARK_ACTIONS, api.organiser, json=call)
        await refused(422, answer, field=field)
    # Where the schema can say it, the document agrees with the server.
    assert not input_schema.is_valid({**CALL, "capacity": -1})
    assert not input_schema.is_valid({**CALL, "colour": "green"})

    # Bodies that are not a JSON object.
    malformed = await api.request(
        "POST",
        GREENPARK_ACTIONS,
        api.organiser,
        data=b'{"title": "Canal clean-up", ',
        content_type="application/json",
    )
    await refused(400, malformed)
    not_an_object = await api.request("POST", GREENPARK_ACTIONS, api.organiser, json=[CALL])
    await refused(400, not_an_object)
    wrong_type = await api.request(
        "POST",
        GREENPARK_ACTIONS,
        api.organiser,
        data=b'{"title": "Canal clean-up"}',
        content_type="text/plain",
    )
    # 415 is checked against the document in test_body_errors_are_documented.
    await refused(415, wrong_type, documented_status=False)

    # An unknown chapter.
    answer = await api.request("GET", "/api/v1/chapters/nowhere/actions", api.organiser)
    assert answer.status == 404 and answer.content_type == "application/problem+json"
    assert "404" in documented_statuses(doc, ACTIONS, "get")

    # And the same request, done right, is stored and matches the documented schema.
    created = await api.request("POST", GREENPARK_ACTIONS, api.organiser, json=CALL)
    assert created.status == 201, created.body
    assert "201" in documented
    schema_validator(doc, "ActionCall").validate(created.body)
    assert created.headers["Location"] == created.body["id"]
    assert [c["id"] for c in await api.stored_calls()] == [created.body["id"]]


async def test_successful_answers_match_their_documented_schemas(api):
    doc = await api.document()
    created = await api.request("POST", GREENPARK_ACTIONS, api.organiser, json=CALL)
    assert created.status == 201
    ulid = created.body["id"].rsplit("/", 1)[1]
    one = f"{GREENPARK_ACTIONS}/{ulid}"
    checks = [
        ("GET", one, None, "/api/v1/chapters/{chapter}/actions/{ulid}", "200"),
        ("PATCH", one, {"capacity": 30}, "/api/v1/chapters/{chapter}/actions/{ulid}", "200"),
        ("GET", GREENPARK_ACTIONS, None, ACTIONS, "200"),
        ("GET", "/api/v1/commitments", None, "/api/v1/commitments", "200"),
        ("POST", f"{one}/cancel", None, "/api/v1/chapters/{chapter}/actions/{ulid}/cancel", "200"),
    ]
    for method, path, body, template, status in checks:
        answer = await api.request(method, path, api.organiser, json=body)
        assert str(answer.status) == status, (method, path, answer.body)
        response = doc["paths"][template][method.lower()]["responses"][status]
        schema = response["content"]["application/json"]["schema"]
        Draft202012Validator({**schema, "components": doc["components"]}).validate(answer.body)
    assert (await api.stored_calls())[0]["status"] == "cancelled"
    assert (await api.stored_calls())[0]["capacity"] == 30


async def test_body_errors_are_documented(api):
    doc = await api.document()
    with_body = [
        (method, path)
        for method, path in operations(doc)
        if "requestBody" in doc["paths"][path][method.lower()]
    ]
    assert with_body
    missing = {
        (method, path): {"413", "415"} - documented_statuses(doc, path, method)
        for method, path in with_body
    }
    assert not any(missing.values()), missing
