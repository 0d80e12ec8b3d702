"""The export operations of the OpenAPI document: CSV for organisers, JSON for a member."""

from __future__ import annotations

from typing import Any

from node.interfaces.api.openapi_parts import CHAPTER, ULID, op


def _download(description: str, media: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {
            "Content-Disposition": {
                "description": "attachment; filename=...",
                "schema": {"type": "string"},
            }
        },
        "content": {media: {"schema": schema}},
    }


CSV = {"type": "string", "description": "RFC 4180 CSV with a header line"}

EXPORT_PATHS: dict[str, Any] = {
    "/api/v1/chapters/{chapter}/actions/{ulid}/participants.csv": {
        "parameters": [CHAPTER, ULID],
        "get": op(
            "A call's participants as CSV (the chapter's organisers): name, handle, actor, "
            "state, slot, attended, rsvp_time (in the call's time zone). Cells a spreadsheet "
            "would run as a formula start with an apostrophe",
            {"200": _download("The participants", "text/csv", CSV)},
        ),
    },
    "/api/v1/chapters/{chapter}/reports.csv": {
        "parameters": [CHAPTER],
        "get": op(
            "The chapter's impact reports as CSV, one line per metric (organisers): report, "
            "call, call_title, date, metric, value, unit, method, status",
            {"200": _download("The reports", "text/csv", CSV)},
        ),
    },
    "/api/v1/me/export": {
        "get": op(
            "All of the member's data as JSON (data portability): profile, memberships, "
            "follows, commitments, participations, attendance, poll votes, notifications, "
            "abuse reports they filed",
            {"200": _download("The member's data", "application/json", {"type": "object"})},
        ),
    },
}
