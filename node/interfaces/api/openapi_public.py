"""The OpenAPI parts of the public reads (node/interfaces/api/public.py): the paths that only
they serve and ``mark_public``, which gives every public read ``security: []`` (no token
needed) and its ``304``. The ``Chapter`` schema and ``/api/v1/chapters/{chapter}`` (its public
GET, its organisers' PATCH) are in openapi_chapters.py; the directory in openapi_directory.py."""

from __future__ import annotations

from typing import Any

from node.interfaces.api.openapi_directory import DIRECTORY_PATHS
from node.interfaces.api.openapi_parts import ok, op, ref

CAMPAIGN = {"name": "campaign", "in": "path", "required": True, "schema": {"type": "string"}}
#: (path, method) of every read anyone may call: the pages, feeds and documents show the same.
PUBLIC_READS = frozenset(
    {
        ("/api/v1/chapters", "get"),
        ("/api/v1/chapters/{chapter}", "get"),
        ("/api/v1/chapters/{chapter}/actions", "get"),
        ("/api/v1/chapters/{chapter}/actions/{ulid}", "get"),
        ("/api/v1/campaigns/{campaign}/totals", "get"),
        ("/api/v1/campaigns/{campaign}/history", "get"),
        ("/api/v1/directory", "get"),
    }
)
PUBLIC_NOTE = (
    " Public: no token needed, `Access-Control-Allow-Origin: *`, and an `ETag` to send back "
    "as `If-None-Match` (answered `304` when nothing changed)."
)
NOT_MODIFIED = {"description": "Not modified: the `If-None-Match` ETag is still current"}

PUBLIC_PATHS: dict[str, Any] = {
    **DIRECTORY_PATHS,
    "/api/v1/chapters": {
        "get": op(
            "The node's chapters and campaigns",
            {
                "200": ok(
                    "Chapters",
                    {
                        "type": "object",
                        "properties": {"items": {"type": "array", "items": ref("Chapter")}},
                    },
                )
            },
        )
    },
    "/api/v1/campaigns/{campaign}/totals": {
        "parameters": [CAMPAIGN],
        "get": op(
            "A campaign's totals: now, per chapter and over time",
            {"200": ok("Totals", ref("CampaignTotals"))},
        ),
    },
    "/api/v1/campaigns/{campaign}/history": {
        "parameters": [CAMPAIGN],
        "get": op(
            "A campaign's totals as each signed rollup published them",
            {
                "200": ok(
                    "History",
                    {
                        "type": "object",
                        "properties": {
                            "campaign": {"type": "string", "format": "uri"},
                            "history": {"type": "array", "items": ref("HistoryPoint")},
                        },
                    },
                )
            },
        ),
    },
}


def mark_public(paths: dict[str, Any]) -> None:
    """Give every public read of ``paths`` no security and its 304 (in place). Its 401 stays:
    a token that is sent is still checked."""
    for path, method in PUBLIC_READS:
        operation = paths.get(path, {}).get(method)
        if operation is None:
            continue
        operation["security"] = []
        operation["description"] = (operation.get("description", "") + PUBLIC_NOTE).strip()
        responses = operation["responses"]
        operation["responses"] = {k: v for k, v in responses.items() if k not in {"413", "415"}}
        operation["responses"]["304"] = NOT_MODIFIED
