"""The pieces every operation of the OpenAPI document is made of (references, bodies, answers,
the problems every operation may answer, and the path parameters)."""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def ok(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if schema is not None:
        response["content"] = {"application/json": {"schema": schema}}
    return response


PROBLEM = {"$ref": "#/components/responses/Problem"}
ERRORS = {
    "400": PROBLEM,
    "401": PROBLEM,
    "403": PROBLEM,
    "404": PROBLEM,
    "413": PROBLEM,
    "415": PROBLEM,
    "422": PROBLEM,
}
CHAPTER = {"name": "chapter", "in": "path", "required": True, "schema": {"type": "string"}}
ULID = {"name": "ulid", "in": "path", "required": True, "schema": {"type": "string"}}


def op(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": {**responses, **ERRORS}, **extra}
