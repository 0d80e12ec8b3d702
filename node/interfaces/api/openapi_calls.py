"""The OpenAPI schema of what an organiser sends to create or edit an action call."""

from __future__ import annotations

from typing import Any

TIME = (
    "A date and time. Without an offset (2027-07-12T10:00) it is the wall-clock time in "
    "`timezone`, else the call's zone, else the chapter's zone (none at all: 422). With an "
    "offset (2027-07-12T11:00:00+01:00) it is exact, and when `timezone` is sent too the offset "
    "must be that zone's at that moment (else 422, naming both readings). A time the zone "
    "skips (clocks going forward) is refused; one it repeats is the first occurrence."
)

PATCH_DESCRIPTION = (
    "A patch: fields not sent keep their value, and `null` removes an optional field "
    "(description, place, online_url, capacity, goal, targets, tags, slots). `place` merges: "
    '`{"address": "..."}` changes the address and keeps the name and coordinates. `targets` '
    "replaces the whole list; `set_targets` adds or replaces each metric and unit given, and "
    '`remove_targets` (["metric:unit"]) removes those, 422 if the call has no such target. '
    "`timezone` alone keeps the instants and shows them in the new zone. `slots` replaces "
    "them all: a slot with the same name and times keeps its id; one that people have taken "
    "cannot be removed or take fewer than them (422). An empty body is 422."
)

SLOT_TIME = (
    "`HH:MM` (on the call's date, in its zone; an end not after the start is the next day) or "
    "a full date and time as for the call's `start`"
)
SLOTS = (
    "Shifts or roles (at most 50), each within the call's times; the call's capacity becomes "
    "their sum, so `capacity` may not be sent with them. Each item is an object or the "
    "text `10:00-12:00 litter pickers:10`. An empty list or null removes them."
)


def slot_input_schema() -> dict[str, Any]:
    """One slot as sent: ``{start, end, name, capacity}`` or the CLI's text form."""
    return {
        "oneOf": [
            {
                "type": "object",
                "required": ["start", "end", "name", "capacity"],
                "properties": {
                    "start": {"type": "string", "description": SLOT_TIME},
                    "end": {"type": "string", "description": SLOT_TIME},
                    "name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "capacity": {"type": "integer", "minimum": 1},
                    "id": {"type": "string", "readOnly": True, "description": "ignored"},
                    "taken": {"type": "integer", "readOnly": True, "description": "ignored"},
                    "remaining": {"type": "integer", "readOnly": True, "description": "ignored"},
                },
                "additionalProperties": False,
            },
            {"type": "string", "description": "START-END ROLE:CAPACITY"},
        ]
    }


#: A slot in the call JSON: its places taken and left.
SLOT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "start", "end", "capacity", "taken", "remaining"],
    "properties": {
        "id": {"type": "string", "description": "the call's id with #slot-N; a Join names it"},
        "name": {"type": "string"},
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "capacity": {"type": "integer", "minimum": 1},
        "taken": {"type": "integer", "minimum": 0},
        "remaining": {"type": "integer", "minimum": 0},
    },
}


def call_input_schema(place: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    """``ActionCallInput``: the body of ``POST`` (create) and ``PATCH`` (edit) on a call."""
    place_patch = {
        **place,
        "required": [],
        "description": "On PATCH, only the fields sent change; null removes one",
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": 300},
            "description": {"type": ["string", "null"], "description": "HTML; sanitised on input"},
            "start": {"type": "string", "description": TIME},
            "end": {"type": "string", "description": "after start; " + TIME},
            "timezone": {
                "type": "string",
                "description": "IANA time zone the call is shown in, e.g. Europe/London "
                "(default: the chapter's)",
            },
            "place": {"oneOf": [{"type": "string"}, place_patch, {"type": "null"}]},
            "online_url": {"type": ["string", "null"], "format": "uri"},
            "capacity": {"type": ["integer", "null"], "minimum": 1},
            "goal": {"type": ["string", "null"], "maxLength": 1000},
            "targets": {"type": ["array", "null"], "maxItems": 32, "items": target},
            "set_targets": {"type": "array", "maxItems": 32, "items": target},
            "remove_targets": {
                "type": "array",
                "items": {"type": "string", "pattern": "^[^:]+:[^:]+$"},
            },
            "tags": {"type": ["array", "null"], "items": {"type": "string"}, "maxItems": 16},
            "slots": {
                "type": ["array", "null"],
                "maxItems": 50,
                "items": slot_input_schema(),
                "description": SLOTS,
            },
            "language": {
                "type": "string",
                "description": "the BCP 47 tag title and description are written in (default: "
                "the chapter's first language, else the node's); published as the first key "
                "of the Event's nameMap and contentMap, as Mastodon reads them",
            },
            "titleMap": {
                "type": ["object", "null"],
                "maxProperties": 20,
                "additionalProperties": {"type": "string", "maxLength": 300},
                "description": 'translations of the title, e.g. {"fr": "Nettoyage du canal"}; '
                "replaces the whole map, null removes it",
            },
            "descriptionMap": {
                "type": ["object", "null"],
                "maxProperties": 20,
                "additionalProperties": {"type": "string"},
                "description": "translations of the description (HTML, cleaned as the "
                "description is); replaces the whole map, null removes it",
            },
            "poll": {
                "type": "boolean",
                "description": "on create only: also publish the call's RSVP poll (a Question "
                "Mastodon users can answer; its id is the created call's `poll`)",
            },
        },
    }
