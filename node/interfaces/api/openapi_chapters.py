"""The chapter resource of the OpenAPI document: reading a chapter (public) and an organiser
changing its settings, place, area served, languages and topics (``PATCH``)."""

from __future__ import annotations

from typing import Any

from node.interfaces.api.openapi_parts import CHAPTER, json_body, ok, op, ref
from protocol.chapter_profile import (
    MAX_ADDRESS,
    MAX_LANGUAGES,
    MAX_PLACE_NAME,
    MAX_RADIUS_KM,
    MAX_REGIONS,
    MAX_TOPICS,
)

_NULLABLE_TEXT = {"type": ["string", "null"]}
_PLACE = {
    "type": ["object", "null"],
    "additionalProperties": False,
    "description": "published as the Group's AS2 `location` (a Mobilizon-shaped `Place`)",
    "properties": {
        "name": {**_NULLABLE_TEXT, "maxLength": MAX_PLACE_NAME},
        "address": {**_NULLABLE_TEXT, "maxLength": MAX_ADDRESS},
        "latitude": {"type": ["number", "null"], "minimum": -90, "maximum": 90},
        "longitude": {"type": ["number", "null"], "minimum": -180, "maximum": 180},
    },
}
_PROFILE: dict[str, Any] = {
    "place": _PLACE,
    "radiusKm": {
        "type": ["number", "null"],
        "exclusiveMinimum": 0,
        "maximum": MAX_RADIUS_KM,
        "description": "the area served, around the coordinates",
    },
    "regions": {
        "type": ["array", "null"],
        "maxItems": MAX_REGIONS,
        "items": {"type": "string", "maxLength": 100},
        "description": "named regions served (published as schema.org `areaServed`)",
    },
    "languages": {
        "type": ["array", "null"],
        "maxItems": MAX_LANGUAGES,
        "items": {"type": "string", "description": "a BCP 47 tag (en, pt-BR)"},
        "description": "published as schema.org `knowsLanguage`",
    },
    "topics": {
        "type": ["array", "null"],
        "maxItems": MAX_TOPICS,
        "items": {"type": "string", "pattern": "^#?\\w{1,50}$"},
        "description": "hashtags (stored lower case, without #), published as `Hashtag` tags",
    },
}

CHAPTER_SCHEMAS: dict[str, Any] = {
    "Chapter": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uri"},
            "name": {"type": "string"},
            "handle": {"type": "string"},
            "kind": {"type": "string", "enum": ["chapter", "campaign"]},
            "title": {"type": "string"},
            "summary": _NULLABLE_TEXT,
            "timezone": _NULLABLE_TEXT,
            **_PROFILE,
            "followers": {"type": "integer"},
        },
    },
    "ChapterPatch": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "title": {"type": "string"},
            "summary": {"type": "string"},
            "timezone": {"type": "string", "description": "an IANA zone"},
            **_PROFILE,
        },
    },
}

CHAPTER_PATHS: dict[str, Any] = {
    "/api/v1/chapters/{chapter}": {
        "parameters": [CHAPTER],
        "get": op(
            "A chapter or campaign as anyone may read it (no token needed)",
            {"200": ok("The chapter", ref("Chapter"))},
            security=[{}, {"bearer": []}],
        ),
        "patch": op(
            "Change a chapter's settings and profile (organisers, admins); only the fields "
            "given change, null or [] clears one; followers get an Update of the Group",
            {"200": ok("The chapter", ref("Chapter"))},
            requestBody=json_body(ref("ChapterPatch")),
            description="A bad value answers 422 with the field named in the problem's title "
            "(`Invalid field: place.latitude`) and changes nothing.",
        ),
    },
}
