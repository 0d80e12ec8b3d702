"""The campaign operations of the OpenAPI document: create, members, exclusions, adoption."""

from __future__ import annotations

from typing import Any

from node.interfaces.api.openapi_parts import CHAPTER, PROBLEM, json_body, ok, op, ref

CAMPAIGN = {"name": "campaign", "in": "path", "required": True, "schema": {"type": "string"}}
IRI = {"type": "string", "format": "uri"}

CAMPAIGN_SCHEMAS: dict[str, Any] = {
    "CampaignInput": {
        "type": "object",
        "additionalProperties": False,
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "pattern": "^[a-z0-9_]{1,64}$"},
            "title": {"type": "string"},
            "summary": {"type": "string"},
            "approve_chapters": {"type": "boolean", "default": False},
        },
    },
    "Member": {
        "type": "object",
        "properties": {
            "chapter": IRI,
            "state": {"type": "string", "enum": ["pending", "accepted", "excluded"]},
        },
    },
    "Exclusion": {
        "type": "object",
        "required": ["target", "reason"],
        "properties": {
            "target": {**IRI, "description": "a report or a chapter"},
            "reason": {"type": "string", "minLength": 1},
        },
    },
}

CAMPAIGN_PATHS: dict[str, Any] = {
    "/api/v1/campaigns": {
        "post": op(
            "Create a campaign (node admins)",
            {"201": ok("The campaign"), "409": PROBLEM},
            requestBody=json_body(ref("CampaignInput")),
        )
    },
    "/api/v1/campaigns/{campaign}/members": {
        "parameters": [CAMPAIGN],
        "get": op(
            "The chapters that joined or asked to join",
            {
                "200": ok(
                    "Members",
                    {
                        "type": "object",
                        "properties": {"members": {"type": "array", "items": ref("Member")}},
                    },
                )
            },
        ),
        "post": op(
            "Approve a chapter that asked to join (organisers)",
            {"200": ok("Approved")},
            requestBody=json_body(
                {"type": "object", "required": ["chapter"], "properties": {"chapter": IRI}}
            ),
        ),
    },
    "/api/v1/campaigns/{campaign}/exclusions": {
        "parameters": [CAMPAIGN],
        "post": op(
            "Leave a report or a chapter out of the totals, with a reason (organisers)",
            {"201": ok("Excluded; the next rollup lists it"), "409": PROBLEM},
            requestBody=json_body(ref("Exclusion")),
        ),
        "delete": op(
            "Count an excluded report or chapter again (organisers)",
            {"200": ok("Included again")},
            parameters=[
                {"name": "target", "in": "query", "required": True, "schema": IRI},
            ],
        ),
    },
    "/api/v1/chapters/{chapter}/adoptions": {
        "parameters": [CHAPTER],
        "post": op(
            "Take up a campaign's call (the same call again gives the same local call)",
            {"200": ok("The chapter's call", ref("ActionCall"))},
            requestBody=json_body(
                {"type": "object", "required": ["call"], "properties": {"call": IRI}}
            ),
        ),
    },
}
