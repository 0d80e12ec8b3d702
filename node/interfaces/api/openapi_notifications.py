"""The notification operations of the OpenAPI document: a member's list and marking it read."""

from __future__ import annotations

from typing import Any

from node.features.notifications.kinds import Kind
from node.features.notifications.listing import MAX_IDS, MAX_LIMIT
from node.interfaces.api.openapi_parts import json_body, ok, op, ref

NOTIFICATION_PATHS: dict[str, Any] = {
    "/api/v1/notifications": {
        "get": op(
            "The token's member's notifications, newest first",
            {"200": ok("Notifications and the unread count", ref("NotificationList"))},
            parameters=[
                {
                    "name": "unread",
                    "in": "query",
                    "schema": {"type": "boolean"},
                    "description": "true: only the unread ones",
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                    "description": "at most this many (default 50)",
                },
            ],
        ),
    },
    "/api/v1/notifications/read": {
        "post": op(
            "Mark the member's notifications read: those named, or all",
            {"200": ok("How many were marked, and how many stay unread", ref("MarkedRead"))},
            requestBody=json_body(ref("MarkRead")),
        ),
    },
}
NOTIFICATION_SCHEMAS: dict[str, Any] = {
    "Notification": {
        "type": "object",
        "required": ["id", "kind", "subject", "text", "call", "url", "createdAt", "read"],
        "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string", "enum": [str(k) for k in Kind]},
            "subject": {"type": "string", "description": "one line, as an e-mail's subject"},
            "text": {"type": "string", "description": "the sentence the member is told"},
            "call": {"type": ["string", "null"], "format": "uri"},
            "url": {
                "type": ["string", "null"],
                "format": "uri",
                "description": "where to read about it (the call's page)",
            },
            "createdAt": {"type": "string", "format": "date-time"},
            "read": {"type": "boolean"},
        },
    },
    "NotificationList": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": ref("Notification")},
            "unread": {"type": "integer", "minimum": 0},
        },
    },
    "MarkRead": {
        "type": "object",
        "additionalProperties": False,
        "oneOf": [{"required": ["ids"]}, {"required": ["all"]}],
        "properties": {
            "ids": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_IDS,
                "items": {"type": "integer", "minimum": 1},
            },
            "all": {"const": True},
        },
    },
    "MarkedRead": {
        "type": "object",
        "properties": {
            "marked": {"type": "integer", "minimum": 0},
            "unread": {"type": "integer", "minimum": 0},
        },
    },
}
