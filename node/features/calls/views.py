"""Action calls and commitments as plain data: the one view the API, the CLI, pages and feed share."""

from __future__ import annotations

from node.features.calls.commitments import CommitmentView
from protocol.events import ActionCall, summary_line
from protocol.localtime import in_zone, local_iso
from protocol.slots import places_left, slot_when
from protocol.timefmt import format_xsd_datetime


def call_json(call: ActionCall, *, local: bool) -> dict[str, object]:
    place = None
    if call.place is not None:
        place = {
            "name": call.place.name,
            "address": call.place.address,
            "latitude": call.place.latitude,
            "longitude": call.place.longitude,
        }
    return {
        "id": call.id,
        "url": call.url or call.id,
        "chapter": call.chapter,
        "local": local,
        "title": call.title,
        "summary": summary_line(call),
        "description": call.content,
        # The instants, written with their zone's offset (the same local time as ``summary``).
        "start": local_iso(call.start, call.timezone),
        "end": local_iso(call.end, call.timezone),
        "timezone": call.timezone,
        "place": place,
        "online_url": call.online_url,
        "capacity": call.capacity,
        "participant_count": call.participant_count,
        "remaining": call.remaining,
        "status": call.status.lower(),
        "goal": call.goal,
        "targets": [t.as_json() for t in call.targets],
        "tags": list(call.tags),
        # The language title and description are in, and their translations (tag → text).
        "language": call.language,
        "titleMap": dict(call.title_map),
        "descriptionMap": dict(call.content_map),
        # Shifts or roles, each with its places: taken, and left (0 when full).
        "slots": [
            {
                "id": s.id,
                "name": s.name,
                "start": local_iso(s.start, call.timezone),
                "end": local_iso(s.end, call.timezone),
                "capacity": s.capacity,
                "taken": s.taken,
                "remaining": s.remaining,
            }
            for s in call.slots
        ],
        "published": format_xsd_datetime(call.published),
        "updated": format_xsd_datetime(call.updated) if call.updated else None,
    }


def slot_views(call: ActionCall) -> list[dict[str, object]]:
    """A call's slots as its page shows them: when (in the call's zone), role, places left."""
    day = in_zone(call.start, call.timezone).date()
    return [
        {
            "id": s.id,
            "name": s.name,
            "when": slot_when(s, call.timezone, day),
            "places": places_left(s),
            "full": s.remaining == 0,
        }
        for s in call.slots
    ]


def commitment_json(row: CommitmentView) -> dict[str, object]:
    """A commitment as the member sees it (a contract: ``commitments --json``): ``state`` is
    pending|accepted|waitlisted|rejected|removed|cancelled|left; ``title``, ``start`` and
    ``summary`` are the call as our copy has it now (null when we hold no copy)."""
    event = row.event
    return {
        "call": row.call,
        "title": event.title if event else None,
        "start": local_iso(event.start, event.timezone) if event else None,
        "end": local_iso(event.end, event.timezone) if event else None,
        "summary": summary_line(event) if event else None,
        "chapter": row.chapter,
        "state": row.state,
        "reason": row.reason,
        "created": format_xsd_datetime(row.created_at),
        "updated": format_xsd_datetime(row.updated_at),
    }
