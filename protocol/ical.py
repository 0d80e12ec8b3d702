"""iCalendar (RFC 5545) documents of action calls (a chapter's feed, the `.ics` a notification
attaches), built with the ``icalendar`` package.

``icalendar`` (with ``dateutil``) adds about 3 MB to a running node, so it is imported when a
feed is first asked for, not at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from protocol.events import ActionCall, summary_line
from protocol.localtime import in_zone, known_zone
from protocol.slots import slots_text


def calendar_ics(chapter_title: str, calls: Iterable[ActionCall], *, now: datetime) -> bytes:
    from icalendar import Calendar, Event, vText

    cal = Calendar()
    cal.add("prodid", "-//Chapterhouse//Action calls//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", chapter_title)
    for call in calls:
        event = Event()
        event.add("uid", call.id)
        event.add("dtstamp", now)
        event.add("dtstart", _when(call.start, call.timezone))
        event.add("dtend", _when(call.end, call.timezone))
        event.add("summary", call.title)
        slots = slots_text(call.slots, call.timezone, in_zone(call.start, call.timezone).date())
        event.add("description", summary_line(call) + (f"\n{slots}" if slots else ""))
        event.add("url", call.url or call.id)
        event.add("status", call.status)
        event.add("created", call.published)
        event.add("last-modified", call.updated or call.published)
        if call.place is not None:
            where = call.place.name + (f", {call.place.address}" if call.place.address else "")
            event.add("location", vText(where))
            if call.place.latitude is not None and call.place.longitude is not None:
                event.add("geo", (call.place.latitude, call.place.longitude))
        elif call.online_url:
            event.add("location", vText(call.online_url))
        cal.add_component(event)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())


def _when(instant: datetime, zone: str | None) -> datetime:
    """Local time in the call's zone (``DTSTART;TZID=Europe/London:...``), through the same
    function the page and the summary use. A call with only an offset is written in UTC, and
    so is the second of a local time the clocks repeat: RFC 5545 §3.3.5 reads a repeated
    local time as its first occurrence."""
    local = in_zone(instant, zone)
    return local if known_zone(zone) and not local.fold else instant.astimezone(UTC)
