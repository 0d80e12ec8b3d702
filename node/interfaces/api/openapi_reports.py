"""The report operations of the OpenAPI document: report on a call, correct, withdraw."""

from __future__ import annotations

from typing import Any

from node.interfaces.api.openapi_parts import CHAPTER, PROBLEM, ULID, json_body, ok, op, ref

METRIC = {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"}
UNIT = {"type": "string", "minLength": 1, "maxLength": 32}
MEASURE = {
    "type": "object",
    "required": ["metric", "unit", "value"],
    "properties": {
        "metric": METRIC,
        "unit": UNIT,
        "value": {"type": "number", "minimum": 0},
        "method": {
            "type": "string",
            "enum": ["counted", "estimated", "self_reported"],
            "default": "counted",
        },
    },
}
CONFLICT = {
    "409": {
        **PROBLEM,
        "description": "The call already has a live report; the problem names it",
    }
}
REPORT_SCHEMAS: dict[str, Any] = {
    "Measure": MEASURE,
    "Report": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uri"},
            "chapter": {"type": "string", "format": "uri"},
            "call": {"type": "string", "format": "uri"},
            "metrics": {"type": "array", "items": ref("Measure")},
            "text": {"type": "string"},
            "published": {"type": "string", "format": "date-time"},
            "updated": {"type": ["string", "null"], "format": "date-time"},
            "retracted": {"type": "boolean"},
        },
    },
    "ReportInput": {
        "type": "object",
        "additionalProperties": False,
        "required": ["metrics"],
        "properties": {
            "metrics": {"type": "array", "minItems": 1, "maxItems": 64, "items": ref("Measure")},
            "text": {"type": ["string", "null"], "description": "the sentence followers see"},
        },
    },
    "ReportCorrection": {
        "type": "object",
        "additionalProperties": False,
        "description": (
            "set changes or adds metrics and keeps the others; remove takes metrics out (a "
            "report keeps at least one); replace makes set the whole list"
        ),
        "properties": {
            "set": {"type": "array", "maxItems": 64, "items": ref("Measure")},
            "remove": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["metric", "unit"],
                    "properties": {"metric": METRIC, "unit": UNIT},
                },
            },
            "replace": {"type": "boolean", "default": False},
            "text": {"type": ["string", "null"]},
        },
    },
}
REPORT_PATHS: dict[str, Any] = {
    "/api/v1/chapters/{chapter}/actions/{ulid}/report": {
        "parameters": [CHAPTER, ULID],
        "post": op(
            "Report what an action call achieved (organisers); one live report per call",
            {"201": ok("The new report", ref("Report")), **CONFLICT},
            requestBody=json_body(ref("ReportInput")),
        ),
    },
    "/api/v1/chapters/{chapter}/reports/{ulid}": {
        "parameters": [CHAPTER, ULID],
        "get": op("One report of the chapter", {"200": ok("The report", ref("Report"))}),
        "patch": op(
            "Correct a report (organisers); followers and the campaign get an Update",
            {"200": ok("The corrected report", ref("Report"))},
            requestBody=json_body(ref("ReportCorrection")),
        ),
        "delete": op(
            "Retract a report (organisers); it leaves every total",
            {"200": ok("The retracted report", ref("Report"))},
        ),
    },
}
