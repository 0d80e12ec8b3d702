"""Slots: the shifts or roles a call is split into (``10:00-12:00 litter pickers:10``).

A call with slots publishes them in its Event as ``chapterhouse:slots`` (FEDERATION.md): each
has an id (the call's id with a ``#slot-N`` fragment, so a Join can name it), a role name, a
time range within the call, a capacity and the places taken. Peers that know nothing of slots
see the call as a whole (its ``maximumAttendeeCapacity`` is the slots' sum).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from protocol.errors import MalformedDocument
from protocol.jsonld import as_list
from protocol.localtime import in_zone, local_iso
from protocol.timefmt import parse_xsd_datetime

SLOTS: Final = "chapterhouse:slots"
#: The extension property of a ``Join`` naming the slot it asks for.
JOIN_SLOT: Final = "chapterhouse:slot"
MAX_SLOTS: Final = 50
MAX_ROLE: Final = 100


@dataclass(frozen=True, slots=True)
class Slot:
    id: str
    name: str
    start: datetime
    end: datetime
    capacity: int
    taken: int = 0

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.taken, 0)


def slot_id(call_id: str, number: int) -> str:
    """The id of a call's ``number``-th slot (from 1)."""
    return f"{call_id}#slot-{number}"


def build_slots(slots: Sequence[Slot], zone: str | None) -> list[dict[str, object]]:
    return [
        {
            "id": s.id,
            "type": "chapterhouse:Slot",
            "name": s.name,
            "startTime": local_iso(s.start, zone),
            "endTime": local_iso(s.end, zone),
            "maximumAttendeeCapacity": s.capacity,
            "participantCount": s.taken,
            "remainingAttendeeCapacity": s.remaining,
        }
        for s in slots
    ]


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedDocument(f"{what} must be a non-negative integer")
    return value


def parse_slots(
    value: object, call_id: str, start: datetime, end: datetime, zone: str | None
) -> tuple[Slot, ...]:
    """The slots an Event publishes: each inside the call's times, with an id under the
    call's own id (a peer cannot name another call's slot)."""
    items = as_list(value)
    if len(items) > MAX_SLOTS:
        raise MalformedDocument(f"more than {MAX_SLOTS} slots")
    out: list[Slot] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise MalformedDocument("each slot must be an object")
        ident, name = item.get("id"), item.get("name")
        if not isinstance(ident, str) or not ident.startswith(call_id + "#"):
            raise MalformedDocument("a slot's id must be its call's id with a fragment")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_ROLE:
            raise MalformedDocument(f"a slot needs a role name of at most {MAX_ROLE} characters")
        times = []
        for key in ("startTime", "endTime"):
            text = item.get(key)
            if not isinstance(text, str):
                raise MalformedDocument(f"a slot needs a {key}")
            times.append(in_zone(parse_xsd_datetime(text), zone))
        if not start <= times[0] < times[1] <= end:
            raise MalformedDocument("a slot's times must be a range within its call")
        capacity = _count(item.get("maximumAttendeeCapacity"), "a slot's capacity")
        taken = _count(item.get("participantCount", 0), "a slot's participantCount")
        out.append(Slot(ident, name.strip(), times[0], times[1], capacity, taken))
    if len({s.id for s in out}) != len(out):
        raise MalformedDocument("two slots have the same id")
    return tuple(out)


def places_left(slot: Slot) -> str:
    """``3 places left``, ``1 place left`` or ``full``: what pages and feeds say of a slot."""
    if slot.remaining == 0:
        return "full"
    return f"{slot.remaining} place{'' if slot.remaining == 1 else 's'} left"


def slot_when(slot: Slot, zone: str | None, day: date) -> str:
    """``10:00-12:00`` (with an en dash) in the call's zone for a slot starting on ``day`` (the
    call's local date), else with its date (``Tue 13 Jul 10:00-12:00``); a night shift's end
    needs none."""
    first, last = in_zone(slot.start, zone), in_zone(slot.end, zone)
    start = first.strftime("%H:%M" if first.date() == day else "%a %d %b %H:%M")
    end = last.strftime("%H:%M" if last - first < timedelta(days=1) else "%a %d %b %H:%M")
    return f"{start}–{end}"


def slots_text(slots: Sequence[Slot], zone: str | None, day: date) -> str:
    """One line for feeds and calendars: ``Slots: 10:00-12:00 litter pickers (3 places left);
    ...`` (empty without slots)."""
    if not slots:
        return ""
    parts = [f"{slot_when(s, zone, day)} {s.name} ({places_left(s)})" for s in slots]
    return "Slots: " + "; ".join(parts)
