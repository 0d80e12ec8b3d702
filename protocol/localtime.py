"""Times as people write and read them: an instant, shown in an IANA time zone.

An action call is one instant for its start and one for its end, plus the zone it is shown in.
Everything that shows a call (its page, the ``summary`` line other servers display, the API,
Atom and iCalendar) goes through :func:`in_zone` and :func:`format_span` here, so every copy
shows the same local time. Nothing here reads the clock; ``zoneinfo`` reads the time zone
database, which is data, not state.

What organisers type (:func:`parse_wall_time`, then :func:`resolve_wall_time`):

- ``2027-07-12T10:00`` (no offset) is a wall-clock time in the call's zone.
- ``2027-07-12T11:00:00+01:00`` is an exact instant; when a zone is given with it, the offset
  must be the zone's offset at that moment, or the input is refused with both readings, because
  one of the two is a mistake and we cannot tell which.
- A wall-clock time that the zone skips (the hour clocks go forward) is refused; one that
  happens twice (the hour clocks go back) is the first occurrence (``fold=0``), as
  ``zoneinfo`` reads it; give the offset to mean the second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from protocol.errors import MalformedDocument

MAX_ZONE_NAME: Final = 64
# IANA names: "UTC", "Europe/London", "America/Argentina/Buenos_Aires", "Etc/GMT+5".
_ZONE_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,3}")
_WALL_TIME: Final = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.\d{1,9})?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?"
)


def zone_info(name: object) -> ZoneInfo:
    """The zone named ``name``; ``MalformedDocument`` for anything but a known IANA name."""
    if not isinstance(name, str) or len(name) > MAX_ZONE_NAME or _ZONE_NAME.fullmatch(name) is None:
        raise MalformedDocument(f"{name!r:.80} is not an IANA time zone name such as Europe/London")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise MalformedDocument(f"unknown time zone {name!r}") from exc


def known_zone(name: object) -> str | None:
    """``name`` if it is a known IANA zone, else None (for documents from other servers)."""
    if not isinstance(name, str):
        return None
    try:
        zone_info(name)
    except MalformedDocument:
        return None
    return name


def format_offset(offset: timedelta | None) -> str:
    """``UTC+01:00``, ``UTC-03:30``, ``UTC+00:00``."""
    minutes = int((offset or timedelta()).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def in_zone(instant: datetime, zone: str | None) -> datetime:
    """``instant`` as a clock in ``zone`` shows it; without a (known) zone, in its own offset."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime; pass an aware datetime")
    name = known_zone(zone)
    return instant.astimezone(ZoneInfo(name)) if name else instant


def local_iso(instant: datetime, zone: str | None) -> str:
    """RFC 3339 with the zone's offset at that instant: ``2027-07-12T11:00:00+01:00``."""
    return in_zone(instant, zone).replace(microsecond=0).isoformat()


def zone_label(instant: datetime, zone: str | None) -> str:
    """The zone's name, or ``UTC+01:00`` for a time that has only an offset."""
    return known_zone(zone) or format_offset(instant.utcoffset())


def format_span(start: datetime, end: datetime, zone: str | None) -> str:
    """``Mon 12 Jul 2027 11:00-13:00 (Europe/London)`` (with an en dash): the one way a call's
    time is written."""
    first, last = in_zone(start, zone), in_zone(end, zone)
    day = first.strftime("%a %d %b %Y %H:%M")
    if last.date() == first.date():
        until = last.strftime("%H:%M")
    else:
        until = last.strftime("%a %d %b %Y %H:%M")
    return f"{day}–{until} ({zone_label(start, zone)})"


@dataclass(frozen=True, slots=True)
class Moment:
    """An instant as the people of a call read it: in the call's zone, the zone named.

    An error that names a time carries one as a param (``ChapterhouseError.spoken``): ``str()``
    is the English (``Mon 12 Jul 2027 09:30 (Europe/London)``), and each interface writes it its
    reader's way (Babel's patterns for their language), never as UTC or an ISO string."""

    instant: datetime
    zone: str | None = None

    def __str__(self) -> str:
        shown = in_zone(self.instant, self.zone)
        return f"{shown.strftime('%a %d %b %Y %H:%M')} ({zone_label(self.instant, self.zone)})"


@dataclass(frozen=True, slots=True)
class WallTime:
    """A time as someone typed it: the clock reading (naive) and the offset, if they gave one."""

    text: str
    wall: datetime
    offset: timedelta | None

    def exact(self) -> datetime | None:
        """The instant, when an offset was given."""
        if self.offset is None:
            return None
        return self.wall.replace(tzinfo=timezone(self.offset))


def parse_wall_time(text: str) -> WallTime:
    """``2027-07-12T10:00``, ``2027-07-12 10:00:00``, ``2027-07-12T10:00:00+01:00`` or ``...Z``.

    Seconds are optional and fractions of a second are dropped (calls start on the minute or
    second). A date alone is refused: a call needs a time."""
    if not isinstance(text, str):
        raise MalformedDocument("a time must be a string such as 2027-07-12T10:00")
    value = text.strip()
    match = _WALL_TIME.fullmatch(value)
    if match is None:
        raise MalformedDocument(
            f"{value!r:.80} is not a date and time such as 2027-07-12T10:00 "
            "or 2027-07-12T10:00:00+01:00"
        )
    try:
        wall = datetime.fromisoformat(f"{match['date']}T{match['time']}")
    except ValueError as exc:
        raise MalformedDocument(f"{value!r} is not a valid date and time") from exc
    offset: timedelta | None = None
    if match["zone"] is not None:
        zone = "+00:00" if match["zone"] == "Z" else match["zone"]
        try:
            offset = datetime.fromisoformat(f"2000-01-01T00:00{zone}").utcoffset()
        except ValueError as exc:
            raise MalformedDocument(f"{value!r} has an invalid UTC offset") from exc
    return WallTime(value, wall, offset)


def _clock(value: datetime, *, with_date: bool) -> str:
    text = value.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")
    return text + (value.strftime(":%S") if value.second else "")


def _gap(zone: ZoneInfo, wall: datetime) -> tuple[datetime, datetime]:
    """The wall-clock times where the clocks jump over ``wall``: (from, to)."""
    before = wall.replace(tzinfo=zone, fold=0).utcoffset() or timedelta()
    after = wall.replace(tzinfo=zone, fold=1).utcoffset() or timedelta()
    # The transition instant lies between the two readings of ``wall``; find it to the minute.
    low = (wall - max(before, after)).replace(tzinfo=UTC)
    high = (wall - min(before, after)).replace(tzinfo=UTC)
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    moment = high.replace(second=0, microsecond=0)
    return (moment + before).replace(tzinfo=None), (moment + after).replace(tzinfo=None)


def resolve_wall_time(time: WallTime, zone: str | None) -> datetime:
    """The instant ``time`` means in ``zone``, as an aware datetime in that zone.

    Without a zone, only an exact time (with an offset) has a meaning; the caller says what to
    do when there is neither (``MalformedDocument`` here)."""
    exact = time.exact()
    if zone is None:
        if exact is None:
            raise MalformedDocument(f"{time.text} has no UTC offset and no time zone is given")
        return exact
    info = zone_info(zone)
    if exact is not None:
        local = exact.astimezone(info)
        if local.replace(tzinfo=None) != time.wall:
            with_date = local.date() != time.wall.date()
            raise MalformedDocument(
                f"{time.text} is {_clock(local, with_date=with_date)} in {zone} "
                f"({format_offset(local.utcoffset())}), not {_clock(time.wall, with_date=with_date)}"
                f": give the time as {local.isoformat()}, or without an offset"
            )
        return local
    first = time.wall.replace(tzinfo=info, fold=0)
    if first.astimezone(UTC).astimezone(info).replace(tzinfo=None) != time.wall:
        start, end = _gap(info, time.wall)
        raise MalformedDocument(
            f"{_clock(time.wall, with_date=True)} does not exist in {zone}: the clocks go "
            f"forward from {_clock(start, with_date=False)} to {_clock(end, with_date=False)} "
            f"that day ({format_offset(first.utcoffset())} to "
            f"{format_offset(time.wall.replace(tzinfo=info, fold=1).utcoffset())}); "
            "give a time outside that gap"
        )
    return first.astimezone(UTC).astimezone(info)
