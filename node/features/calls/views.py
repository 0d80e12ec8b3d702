"""Action calls and commitments as plain data: the one view the API, the CLI, pages and feed share."""

from __future__ import annotations

from protocol.events import ActionCall, summary_line
from protocol.timefmt import format_xsd_datetime
from storage.models import Commitment


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
        "start": call.start.isoformat(timespec="seconds"),
        "end": call.end.isoformat(timespec="seconds"),
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
        "published": format_xsd_datetime(call.published),
        "updated": format_xsd_datetime(call.updated) if call.updated else None,
    }


def commitment_json(row: Commitment) -> dict[str, object]:
    return {
        "call": row.call,
        "chapter": row.chapter,
        "state": row.state,
        "reason": row.reason,
        "created": format_xsd_datetime(row.created_at),
        "updated": format_xsd_datetime(row.updated_at),
    }
