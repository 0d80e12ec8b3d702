"""The attendance operations of the OpenAPI document: who came to a call (organisers only)."""

from __future__ import annotations

from typing import Any

from node.interfaces.api.openapi_parts import CHAPTER, ULID, json_body, ok, op, ref

ATTENDANCE_SCHEMAS: dict[str, Any] = {
    "Attendance": {
        "type": "object",
        "properties": {
            "call": {"type": "string", "format": "uri"},
            "came": {"type": "integer", "description": "checked_in + named_walk_ins + walk_ins"},
            "checked_in": {"type": "integer"},
            "named_walk_ins": {"type": "integer"},
            "walk_ins": {"type": "integer", "description": "walk-ins counted without names"},
            "checkin_code": {
                "type": ["string", "null"],
                "description": "what members enter on the call's page while it runs",
            },
            "attendees": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "actor": {
                            "type": ["string", "null"],
                            "description": "null for a walk-in given by name",
                        },
                        "name": {"type": "string"},
                        "slot": {"type": ["string", "null"]},
                        "recorded_at": {"type": "string", "format": "date-time"},
                    },
                },
            },
        },
    },
    "AttendanceChange": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "people": {
                "type": "array",
                "maxItems": 500,
                "description": "participants: local name, @user@host or actor IRI",
                "items": {"type": "string"},
            },
            "walk_in_names": {
                "type": "array",
                "maxItems": 500,
                "items": {"type": "string", "maxLength": 200},
            },
            "walk_ins": {"type": "integer", "minimum": 0, "maximum": 10000},
            "undo": {
                "type": "boolean",
                "default": False,
                "description": "take back the check-ins and walk-ins given",
            },
        },
    },
}

ATTENDANCE_PATHS: dict[str, Any] = {
    "/api/v1/chapters/{chapter}/actions/{ulid}/attendance": {
        "parameters": [CHAPTER, ULID],
        "get": op(
            "Who came (organisers); makes the call's check-in code if it has none",
            {"200": ok("The attendance", ref("Attendance"))},
        ),
        "post": op(
            "Check participants in (or undo), add walk-ins (organisers); all or nothing",
            {"200": ok("The attendance now", ref("Attendance"))},
            requestBody=json_body(ref("AttendanceChange")),
        ),
    },
}
