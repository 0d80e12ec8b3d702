"""The moderation operations of the OpenAPI document that came after the first build:
resolving an abuse report (flag)."""

from __future__ import annotations

from typing import Any

from node.interfaces.api.openapi_parts import PROBLEM, json_body, ok, op, ref

FLAG_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
    "description": "the flag's id, as listed by GET /api/v1/admin/flags",
}
MODERATION_PATHS: dict[str, Any] = {
    "/api/v1/flags/{id}/resolve": {
        "parameters": [FLAG_ID],
        "post": op(
            "Resolve an open abuse report with a note on what was done (admins; final)",
            {
                "200": ok("The resolved flag", ref("Flag")),
                "409": {**PROBLEM, "description": "The flag is already resolved"},
            },
            requestBody=json_body(ref("FlagResolution")),
        ),
    },
}
MODERATION_SCHEMAS: dict[str, Any] = {
    "FlagResolution": {
        "type": "object",
        "required": ["note"],
        "properties": {
            "note": {
                "type": "string",
                "minLength": 1,
                "maxLength": 5000,
                "description": "what was done about the report, kept with the flag",
            },
        },
    },
}
