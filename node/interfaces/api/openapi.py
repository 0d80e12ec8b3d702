"""The OpenAPI 3.1 document of ``/api/v1`` (served at ``/api/openapi.json``)."""

from __future__ import annotations

from typing import Any

from node.interfaces.api.openapi_attendance import ATTENDANCE_PATHS, ATTENDANCE_SCHEMAS
from node.interfaces.api.openapi_calls import PATCH_DESCRIPTION, SLOT, call_input_schema
from node.interfaces.api.openapi_campaigns import CAMPAIGN_PATHS, CAMPAIGN_SCHEMAS
from node.interfaces.api.openapi_chapters import CHAPTER_PATHS, CHAPTER_SCHEMAS
from node.interfaces.api.openapi_exports import EXPORT_PATHS
from node.interfaces.api.openapi_moderation import MODERATION_PATHS, MODERATION_SCHEMAS
from node.interfaces.api.openapi_notifications import NOTIFICATION_PATHS, NOTIFICATION_SCHEMAS
from node.interfaces.api.openapi_parts import CHAPTER, ULID
from node.interfaces.api.openapi_parts import json_body as _json_body
from node.interfaces.api.openapi_parts import ok as _ok
from node.interfaces.api.openapi_parts import op as _op
from node.interfaces.api.openapi_parts import ref as _ref
from node.interfaces.api.openapi_public import PUBLIC_PATHS, mark_public
from node.interfaces.api.openapi_reports import REPORT_PATHS, REPORT_SCHEMAS
from node.runtime.version import node_version


def openapi_document(base_url: str) -> dict[str, Any]:
    place = {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "maxLength": 300},
            "address": {"type": ["string", "null"]},
            "latitude": {"type": ["number", "null"], "minimum": -90, "maximum": 90},
            "longitude": {"type": ["number", "null"], "minimum": -180, "maximum": 180},
        },
    }
    target = {
        "type": "object",
        "required": ["metric", "unit", "target"],
        "properties": {
            "metric": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"},
            "unit": {"type": "string", "minLength": 1, "maxLength": 32},
            "target": {"type": "number", "minimum": 0},
        },
    }
    call_input = call_input_schema(place, target)
    call = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uri"},
            "url": {"type": "string", "format": "uri"},
            "chapter": {"type": "string", "format": "uri"},
            "local": {"type": "boolean"},
            "title": {"type": "string"},
            "summary": {
                "type": "string",
                "description": "one plain line: when (in the call's time zone) · where · goal",
            },
            "description": {"type": "string"},
            "start": {"type": "string", "format": "date-time"},
            "end": {"type": "string", "format": "date-time"},
            "timezone": {"type": ["string", "null"]},
            "place": {"oneOf": [{"type": "null"}, place]},
            "online_url": {"type": ["string", "null"]},
            "capacity": {"type": ["integer", "null"]},
            "participant_count": {"type": "integer"},
            "remaining": {"type": ["integer", "null"]},
            "status": {"type": "string", "enum": ["confirmed", "cancelled", "tentative"]},
            "goal": {"type": ["string", "null"]},
            "targets": {"type": "array", "items": target},
            "tags": {"type": "array", "items": {"type": "string"}},
            "language": {"type": ["string", "null"]},
            "titleMap": {"type": "object", "additionalProperties": {"type": "string"}},
            "descriptionMap": {"type": "object", "additionalProperties": {"type": "string"}},
            "slots": {"type": "array", "items": SLOT},
            "poll": {
                "type": "string",
                "format": "uri",
                "description": "its RSVP poll (in the answer to a create with poll: true)",
            },
            "published": {"type": "string", "format": "date-time"},
            "updated": {"type": ["string", "null"], "format": "date-time"},
        },
    }
    commitment = {
        "type": "object",
        "properties": {
            "call": {"type": "string", "format": "uri"},
            "title": {"type": ["string", "null"]},
            "start": {"type": ["string", "null"], "format": "date-time"},
            "end": {"type": ["string", "null"], "format": "date-time"},
            "summary": {"type": ["string", "null"]},
            "chapter": {"type": "string", "format": "uri"},
            "state": {
                "type": "string",
                "enum": [
                    "pending",
                    "accepted",
                    "waitlisted",
                    "rejected",
                    "removed",
                    "cancelled",
                    "left",
                ],
            },
            "reason": {"type": ["string", "null"]},
            "created": {"type": "string", "format": "date-time"},
            "updated": {"type": "string", "format": "date-time"},
        },
    }
    follow = {
        "type": "object",
        "properties": {"target": {"type": "string"}, "state": {"type": "string"}},
    }

    def items(schema: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "properties": {"items": {"type": "array", "items": schema}}}

    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Chapterhouse node API",
            "version": node_version(),
            "description": "Members, organisers and admins of a Chapterhouse node.",
        },
        "servers": [{"url": base_url}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/me": {
                "get": _op(
                    "Who the token belongs to", {"200": _ok("The actor", {"type": "object"})}
                )
            },
            "/api/v1/chapters/{chapter}/actions": {
                "parameters": [CHAPTER],
                "get": _op(
                    "The chapter's action calls", {"200": _ok("Calls", items(_ref("ActionCall")))}
                ),
                "post": _op(
                    "Publish an action call (organisers)",
                    {"201": _ok("The new call", _ref("ActionCall"))},
                    requestBody=_json_body({**_ref("ActionCallInput")}),
                ),
            },
            "/api/v1/chapters/{chapter}/actions/{ulid}": {
                "parameters": [CHAPTER, ULID],
                "get": _op("One action call", {"200": _ok("The call", _ref("ActionCall"))}),
                "patch": _op(
                    "Edit an action call (organisers); followers get an Update",
                    {"200": _ok("The call", _ref("ActionCall"))},
                    requestBody=_json_body(_ref("ActionCallInput")),
                    description=PATCH_DESCRIPTION,
                ),
            },
            "/api/v1/chapters/{chapter}/actions/{ulid}/cancel": {
                "parameters": [CHAPTER, ULID],
                "post": _op(
                    "Cancel an action call (organisers); followers and participants get its "
                    "Update (ical:status CANCELLED, with the reason if given)",
                    {"200": _ok("The cancelled call", _ref("ActionCall"))},
                    requestBody={
                        **_json_body(
                            {
                                "type": "object",
                                "properties": {"reason": {"type": "string", "maxLength": 500}},
                                "additionalProperties": False,
                            }
                        ),
                        "required": False,
                    },
                ),
            },
            "/api/v1/chapters/{chapter}/actions/{ulid}/restore": {
                "parameters": [CHAPTER, ULID],
                "post": _op(
                    "Un-cancel an action call (organisers); followers and participants get its "
                    "Update (ical:status CONFIRMED), participants keep their places",
                    {"200": _ok("The restored call", _ref("ActionCall"))},
                ),
            },
            "/api/v1/chapters/{chapter}/actions/{ulid}/participants": {
                "parameters": [CHAPTER, ULID],
                "delete": _op(
                    "Remove a participant (organisers): they get a Reject of their Join, "
                    "followers the new count",
                    {"200": _ok("Removed", {"type": "object"})},
                    parameters=[
                        {
                            "name": "actor",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                ),
                "get": _op(
                    "Who is coming (organisers)",
                    {
                        "200": _ok(
                            "Participants",
                            items(
                                {
                                    "type": "object",
                                    "properties": {
                                        "actor": {"type": "string", "format": "uri"},
                                        "joined": {"type": "string", "format": "date-time"},
                                        "state": {"enum": ["accepted", "waitlisted"]},
                                        "slot": {"type": ["string", "null"]},
                                    },
                                }
                            ),
                        )
                    },
                ),
            },
            **REPORT_PATHS,
            **EXPORT_PATHS,
            **ATTENDANCE_PATHS,
            **CAMPAIGN_PATHS,
            **PUBLIC_PATHS,
            **CHAPTER_PATHS,
            "/api/v1/flags": {
                "post": _op(
                    "Report an action call, a report or an actor to the moderators",
                    {"201": _ok("The flag", _ref("Flag"))},
                    requestBody=_json_body(
                        {
                            "type": "object",
                            "required": ["target"],
                            "properties": {
                                "target": {"type": "string", "format": "uri"},
                                "comment": {"type": "string", "maxLength": 5000},
                            },
                        }
                    ),
                ),
            },
            **MODERATION_PATHS,
            **NOTIFICATION_PATHS,
            "/api/v1/admin/flags": {
                "get": _op(
                    "The moderation queue (admins)",
                    {"200": _ok("Flags", items(_ref("Flag")))},
                    parameters=[{"name": "all", "in": "query", "schema": {"type": "string"}}],
                ),
            },
            "/api/v1/admin/blocks": {
                "get": _op(
                    "Blocked domains and actors (admins)",
                    {"200": _ok("Blocks", {"type": "object"})},
                ),
                "post": _op(
                    "Block a domain (suspend or silence) or an actor (admins)",
                    {"201": _ok("Blocked", {"type": "object"})},
                    requestBody=_json_body(
                        {
                            "type": "object",
                            "properties": {
                                "domain": {"type": "string"},
                                "severity": {"type": "string", "enum": ["suspend", "silence"]},
                                "actor": {"type": "string", "format": "uri"},
                                "reason": {"type": "string"},
                            },
                        }
                    ),
                ),
                "delete": _op(
                    "Lift a block (admins)",
                    {"200": _ok("Lifted", {"type": "object"})},
                    parameters=[
                        {
                            "name": "target",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                ),
            },
            "/api/v1/chapters/{chapter}/bans": {
                "parameters": [CHAPTER],
                "post": _op(
                    "Ban an actor from the chapter's RSVPs (organisers)",
                    {"201": _ok("Banned", {"type": "object"})},
                    requestBody=_json_body(
                        {
                            "type": "object",
                            "required": ["actor"],
                            "properties": {
                                "actor": {"type": "string", "format": "uri"},
                                "reason": {"type": "string"},
                            },
                        }
                    ),
                ),
            },
            "/api/v1/feed": {
                "get": _op(
                    "Calls of the chapters the member follows, newest first",
                    {
                        "200": _ok(
                            "A page",
                            {
                                "type": "object",
                                "properties": {
                                    "items": {"type": "array", "items": _ref("ActionCall")},
                                    "page": {"type": "integer"},
                                    "next": {"type": "string"},
                                },
                            },
                        )
                    },
                    parameters=[
                        {
                            "name": "page",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1},
                        },
                        {
                            "name": "per_page",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                        },
                    ],
                ),
            },
            "/api/v1/follows": {
                "get": _op("Whom the member follows", {"200": _ok("Follows", items(follow))}),
                "post": _op(
                    "Follow a chapter by handle or URL",
                    {"202": _ok("Requested", follow)},
                    requestBody=_json_body(
                        {
                            "type": "object",
                            "required": ["target"],
                            "properties": {"target": {"type": "string"}},
                        }
                    ),
                ),
                "delete": _op(
                    "Unfollow",
                    {"200": _ok("Removed", follow)},
                    parameters=[
                        {
                            "name": "target",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                ),
            },
            "/api/v1/commitments": {
                "get": _op(
                    "The member's RSVPs", {"200": _ok("Commitments", items(_ref("Commitment")))}
                ),
            },
            "/api/v1/rsvps": {
                "post": _op(
                    "RSVP to an action call (here or on another node)",
                    {
                        "200": _ok("Decided", _ref("Rsvp")),
                        "202": _ok("Sent to the chapter", _ref("Rsvp")),
                        "409": {
                            "description": "The action call has ended: it takes no more RSVPs",
                            "content": {"application/problem+json": {"schema": _ref("Problem")}},
                        },
                    },
                    requestBody=_json_body(
                        {
                            "type": "object",
                            "required": ["call"],
                            "properties": {
                                "call": {"type": "string", "format": "uri"},
                                "slot": {
                                    "type": "string",
                                    "description": "a slot's id, role name or number",
                                },
                            },
                        }
                    ),
                ),
                "delete": _op(
                    "Withdraw an RSVP",
                    {"200": _ok("Withdrawn", _ref("Rsvp"))},
                    parameters=[
                        {
                            "name": "call",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                ),
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "ActionCall": call,
                "ActionCallInput": call_input,
                "Commitment": commitment,
                "Flag": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "reporter": {"type": "string"},
                        "targets": {"type": "array", "items": {"type": "string"}},
                        "comment": {"type": ["string", "null"]},
                        "source": {"type": "string"},
                        "state": {"type": "string", "enum": ["open", "resolved"]},
                        "created": {"type": "string"},
                        "resolved": {"type": ["string", "null"], "format": "date-time"},
                        "resolved_by": {"type": ["string", "null"], "format": "uri"},
                        "resolution": {"type": ["string", "null"]},
                    },
                },
                "Total": {
                    "type": "object",
                    "required": ["metric", "unit", "value"],
                    "properties": {
                        "metric": {"type": "string"},
                        "unit": {"type": "string"},
                        "value": {"type": "number"},
                    },
                },
                "CampaignTotals": {
                    "type": "object",
                    "properties": {
                        "campaign": {"type": "string", "format": "uri"},
                        "rollup": {"type": ["string", "null"]},
                        "chapterCount": {"type": "integer"},
                        "totals": {"type": "array", "items": _ref("Total")},
                        "chapters": {
                            "type": "object",
                            "additionalProperties": {"type": "array", "items": _ref("Total")},
                        },
                        "history": {"type": "array", "items": _ref("HistoryPoint")},
                    },
                },
                "HistoryPoint": {
                    "description": "A campaign's totals as one signed rollup published them",
                    "type": "object",
                    "properties": {
                        "at": {"type": "string", "format": "date-time"},
                        "chapterCount": {"type": "integer"},
                        "totals": {"type": "array", "items": _ref("Total")},
                    },
                },
                "Rsvp": {
                    "type": "object",
                    "properties": {
                        "call": {"type": "string"},
                        "state": {"type": "string"},
                        "reason": {"type": ["string", "null"]},
                        "slot": {"type": ["string", "null"]},
                        "position": {"type": ["integer", "null"]},
                    },
                },
                **REPORT_SCHEMAS,
                **ATTENDANCE_SCHEMAS,
                **MODERATION_SCHEMAS,
                **NOTIFICATION_SCHEMAS,
                **CAMPAIGN_SCHEMAS,
                **CHAPTER_SCHEMAS,
                "Problem": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                    },
                },
            },
            "responses": {
                "Problem": {
                    "description": "An error, as RFC 9457 problem details",
                    "content": {"application/problem+json": {"schema": _ref("Problem")}},
                },
            },
        },
    }
    mark_public(document["paths"])  # the reads anyone may call (openapi_public.py)
    return document
