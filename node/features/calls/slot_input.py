"""Slots (shifts or roles) as organisers type them, then placed in the call's time.

Two forms, one meaning: the text the CLI's ``--slot`` and the web form take,
``10:00-12:00 litter pickers:10``, and the API's object ``{"start": "10:00", "end": "12:00",
"name": "litter pickers", "capacity": 10}``. A time is either a bare clock reading (``10:00``),
on the call's date in the call's zone, or a full date and time read as the call's own times are
(``2027-07-13T10:00``, or with an offset), for a slot on another day of a longer call. A bare
end that is not after its slot's start is on the next day (a night shift, ``22:00-02:00``).

Parsing (:func:`parse_slots_input`) checks the shape: a role of 1-100 characters, a capacity of
at least 1, at most 50 slots. Placing (:func:`place_slots`) waits until the call's start, end
and zone are known (a patch may change them) and checks that each slot lies within the call
and that no two have the same role and times (that pair is what keeps a slot's id).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from node.features.calls.errors import FieldError
from protocol.errors import N_, MalformedDocument
from protocol.localtime import (
    WallTime,
    format_span,
    in_zone,
    known_zone,
    parse_wall_time,
    resolve_wall_time,
)
from protocol.slots import MAX_ROLE, MAX_SLOTS

FIELD: Final = "slots"
MAX_CAPACITY: Final = 10_000_000
EXAMPLE: Final = "10:00-12:00 litter pickers:10"
_TIME: Final = r"(?:\d{4}-\d{2}-\d{2}[T ])?\d{1,2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?"
#: ``START-END ROLE:CAPACITY``; the role is everything up to the last colon.
_SLOT_TEXT: Final = re.compile(
    rf"\s*(?P<start>{_TIME})\s*[-–]\s*(?P<end>{_TIME})\s+(?P<name>.*):(?P<capacity>[^:]*)"
)
_CLOCK: Final = re.compile(r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?")
#: What the API's call JSON shows of a slot besides its fields: ignored when sent back.
READ_ONLY: Final = frozenset({"id", "taken", "remaining"})
KEYS: Final = frozenset({"start", "end", "name", "capacity"})


@dataclass(frozen=True, slots=True)
class SlotTime:
    """A slot's start or end as typed: a bare clock reading, or a full date and time."""

    text: str
    clock: time | None = None
    wall: WallTime | None = None


@dataclass(frozen=True, slots=True)
class SlotInput:
    """One slot as given; ``number`` is its place in the list (from 1), for messages."""

    number: int
    name: str
    start: SlotTime
    end: SlotTime
    capacity: int

    @property
    def label(self) -> str:
        return f"slot {self.number} ({self.name})"


@dataclass(frozen=True, slots=True)
class PlacedSlot:
    """A slot in time: its instants shown in the call's zone."""

    name: str
    start: datetime
    end: datetime
    capacity: int


def _error(wording: str, /, **params: object) -> FieldError:
    """The slots field's error, worded with its data (``protocol.errors.WordedError``)."""
    return FieldError(FIELD, wording, **params)


#: A slot's time that is missing, not a time of day, or not a time, worded whole for the start
#: and for the end (a word put into a sentence would stay English).
_NO_TIME: Final = {
    "start": N_("slot {number} ({name}) needs a start time such as 10:00 or 2027-07-12T10:00"),
    "end": N_("slot {number} ({name}) needs an end time such as 10:00 or 2027-07-12T10:00"),
}
_NOT_OF_DAY: Final = {
    "start": N_("slot {number} ({name}): start {text!r} is not a time of day (00:00 to 23:59)"),
    "end": N_("slot {number} ({name}): end {text!r} is not a time of day (00:00 to 23:59)"),
}
_NOT_A_TIME: Final = {
    "start": N_(
        "slot {number} ({name}): start {text!r} is not a time such as 10:00 or 2027-07-12T10:00"
    ),
    "end": N_(
        "slot {number} ({name}): end {text!r} is not a time such as 10:00 or 2027-07-12T10:00"
    ),
}


def _slot_time(number: int, name: str, which: str, value: object) -> SlotTime:
    if not isinstance(value, str) or not value.strip():
        raise _error(_NO_TIME[which], number=number, name=name)
    text = value.strip()
    clock = _CLOCK.fullmatch(text)
    if clock is not None:
        hour, minute, second = int(clock["h"]), int(clock["m"]), int(clock["s"] or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise _error(_NOT_OF_DAY[which], number=number, name=name, text=text)
        return SlotTime(text, clock=time(hour, minute, second))
    try:
        return SlotTime(text, wall=parse_wall_time(text))
    except MalformedDocument as exc:
        raise _error(_NOT_A_TIME[which], number=number, name=name, text=text[:80]) from exc


def _name(number: int, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _error(N_("slot {number} needs a role name, such as litter pickers"), number=number)
    name = " ".join(value.split())
    if len(name) > MAX_ROLE:
        raise _error(
            N_("slot {number}: the role name must be at most {limit} characters"),
            number=number,
            limit=MAX_ROLE,
        )
    return name


def _capacity(number: int, name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _error(
            N_("slot {number} ({name}): capacity must be a whole number of places"),
            number=number,
            name=name,
        )
    if value < 1:
        raise _error(
            N_("slot {number} ({name}): capacity must be at least 1 (got {value})"),
            number=number,
            name=name,
            value=value,
        )
    if value > MAX_CAPACITY:
        raise _error(
            N_("slot {number} ({name}): capacity is unreasonably large"), number=number, name=name
        )
    return value


def parse_slot_text(text: str, number: int = 1) -> SlotInput:
    """``10:00-12:00 litter pickers:10`` (the CLI's ``--slot`` and the web form's rows)."""
    match = _SLOT_TEXT.fullmatch(text)
    if match is None:
        raise _error(
            N_("slot {number}: {text!r} must look like START-END ROLE:CAPACITY, e.g. {example}"),
            number=number,
            text=text.strip()[:120],
            example=EXAMPLE,
        )
    name = _name(number, match["name"])
    return SlotInput(
        number,
        name,
        _slot_time(number, name, "start", match["start"]),
        _slot_time(number, name, "end", match["end"]),
        _capacity(number, name, _whole_number(number, name, match["capacity"])),
    )


def _whole_number(number: int, name: str, text: str) -> int:
    text = text.strip()
    if not text.isdecimal() or not text.isascii():
        raise _error(
            N_("slot {number} ({name}): capacity {text!r} is not a whole number of places"),
            number=number,
            name=name,
            text=text[:40],
        )
    return int(text)


def _slot_object(item: Mapping[str, object], number: int) -> SlotInput:
    unknown = sorted(set(item) - KEYS - READ_ONLY, key=str)
    if unknown:
        raise _error(
            N_("slot {number}: {key!r} is not a field of a slot"),
            number=number,
            key=str(unknown[0])[:40],
        )
    name = _name(number, item.get("name"))
    if item.get("capacity") is None:
        raise _error(
            N_("slot {number} ({name}) needs a capacity (how many people it takes)"),
            number=number,
            name=name,
        )
    return SlotInput(
        number,
        name,
        _slot_time(number, name, "start", item.get("start")),
        _slot_time(number, name, "end", item.get("end")),
        _capacity(number, name, item["capacity"]),
    )


def parse_slots_input(value: object) -> tuple[SlotInput, ...]:
    """A list of slots, each an object or the text form; an empty list means no slots."""
    if not isinstance(value, list):
        raise _error(
            N_(
                'must be a list of slots, each {{"start", "end", "name", "capacity"}} or text '
                "such as {example!r}"
            ),
            example=EXAMPLE,
        )
    if len(value) > MAX_SLOTS:
        raise _error(
            N_("a call has at most {limit} slots (got {count})"), limit=MAX_SLOTS, count=len(value)
        )
    out = []
    for number, item in enumerate(value, start=1):
        if isinstance(item, str):
            out.append(parse_slot_text(item, number))
        elif isinstance(item, Mapping):
            out.append(_slot_object(item, number))
        else:
            raise _error(
                N_(
                    'slot {number} must be an object {{"start", "end", "name", "capacity"}} '
                    "or text such as {example!r}"
                ),
                number=number,
                example=EXAMPLE,
            )
    return tuple(out)


def _instant(
    slot: SlotInput,
    which: str,
    typed: SlotTime,
    day: date,
    zone: str | None,
    given_zone: str | None,
    fallback: datetime,
) -> datetime:
    """``typed`` as an instant: a bare clock on ``day`` in ``zone``; a full time as the call's
    own times are read (patch.py). Without a known zone, the call's own offset (``fallback``)."""
    if typed.clock is not None:
        wall = WallTime(typed.text, datetime.combine(day, typed.clock), None)
    else:
        assert typed.wall is not None
        wall = typed.wall
    named = known_zone(zone)
    try:
        if wall.offset is not None:
            resolved = resolve_wall_time(wall, given_zone)
        elif named is None:
            resolved = wall.wall.replace(tzinfo=fallback.tzinfo)
        else:
            resolved = resolve_wall_time(wall, named)
    except MalformedDocument as exc:
        raise _error(
            N_("slot {number} ({name}): {which}: {reason}"),
            number=slot.number,
            name=slot.name,
            which=which,
            reason=str(exc),
        ) from exc
    return in_zone(resolved, zone)


def _utc(instant: datetime) -> datetime:
    """For comparing: two times of one zone compare as wall clocks, blind to a repeated hour."""
    return instant.astimezone(UTC)


def place_slots(
    slots: Sequence[SlotInput],
    *,
    start: datetime,
    end: datetime,
    zone: str | None,
    given_zone: str | None = None,
) -> tuple[PlacedSlot, ...]:
    """The slots in time, for a call from ``start`` to ``end`` shown in ``zone``; ``given_zone``
    is the zone sent with the same input (an offset must agree with it)."""
    call_day = in_zone(start, zone).date()
    placed: list[PlacedSlot] = []
    seen: dict[tuple[str, datetime, datetime], int] = {}
    for slot in slots:
        first = _instant(slot, "start", slot.start, call_day, zone, given_zone, start)
        slot_day = first.date()
        last = _instant(slot, "end", slot.end, slot_day, zone, given_zone, start)
        overnight = slot.end.clock is not None and _utc(last) <= _utc(first)
        if overnight:  # a night shift (22:00-02:00) ends the next day
            next_day = slot_day + timedelta(days=1)
            last = _instant(slot, "end", slot.end, next_day, zone, given_zone, start)
        if _utc(last) <= _utc(first) or (overnight and _utc(last) > _utc(end)):
            raise _error(
                N_("slot {number} ({name}): its end ({end}) is not after its start ({start})"),
                number=slot.number,
                name=slot.name,
                end=slot.end.text,
                start=slot.start.text,
            )
        if not _utc(start) <= _utc(first) or not _utc(last) <= _utc(end):
            raise _error(
                N_("slot {number} ({name}) ({span}) is not within the call ({call})"),
                number=slot.number,
                name=slot.name,
                span=format_span(first, last, zone),
                call=format_span(start, end, zone),
            )
        key = (slot.name, _utc(first), _utc(last))
        if key in seen:
            raise _error(
                N_("slot {number} ({name}) repeats slot {other}: the same role at the same times"),
                number=slot.number,
                name=slot.name,
                other=seen[key],
            )
        seen[key] = slot.number
        placed.append(PlacedSlot(slot.name, first, last, slot.capacity))
    return tuple(placed)
