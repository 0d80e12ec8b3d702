"""The OpenAPI part of ``GET /api/v1/directory`` (node/interfaces/api/directory_routes.py),
one of openapi_public.py's ``PUBLIC_PATHS``: its ``mark_public`` gives it no security (no
token), the CORS and ``ETag`` note, and its ``304``."""

from __future__ import annotations

from typing import Any

from node.interfaces.api.openapi_parts import ok, op

STRINGS = {"type": "array", "items": {"type": "string"}}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


RESULT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "kind", "distanceKm", "place", "topics", "languages"],
    "properties": {
        "id": {"type": "string", "format": "uri"},
        "name": {"type": ["string", "null"], "description": "preferredUsername"},
        "kind": {"type": "string", "enum": ["chapter", "campaign"]},
        "distanceKm": {"type": ["number", "null"]},
        "place": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "properties": {
                        "name": {"type": ["string", "null"]},
                        "address": {"type": ["string", "null"]},
                        "latitude": {"type": ["number", "null"]},
                        "longitude": {"type": ["number", "null"]},
                    },
                },
            ]
        },
        "topics": STRINGS,
        "languages": STRINGS,
        "title": {"type": ["string", "null"]},
        "summary": {"type": ["string", "null"]},
        "url": {"type": "string", "format": "uri"},
        "followers": {"type": ["integer", "null"]},
        "local": {"type": "boolean", "description": "one of this node's own"},
    },
}


_SEARCH = op(
    "Chapters and campaigns near a place and/or matching words, on this node and the nodes"
    " it knows",
    {
        "200": ok(
            "Results, nearest first when `near` is given",
            {
                "type": "object",
                "properties": {"results": {"type": "array", "items": RESULT}},
            },
        ),
    },
    description=(
        "A bad `near`, `radius`, `topic`, `language` or `limit` is a 400 naming it. Place"
        " names are looked up offline (cities of over 15,000 people)."
    ),
    parameters=[
        _query("q", "words to find (names, descriptions, places, topics), at most 200 chars"),
        _query("near", '"LAT,LON" or a place name ("Lyon", "Lyon, FR", "Springfield, IL")'),
        _query("radius", "km from `near`; an entry whose own area covers `near` also counts"),
        _query("topic", "a hashtag, with or without #"),
        _query("language", "a BCP 47 tag (fr also finds fr-CA)"),
        _query("limit", "1 to 500 (default 50)", {"type": "string", "pattern": "^[0-9]+$"}),
    ],
)

DIRECTORY_PATHS: dict[str, Any] = {"/api/v1/directory": {"get": _SEARCH}}
