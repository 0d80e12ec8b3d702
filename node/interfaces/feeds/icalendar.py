"""iCalendar (RFC 5545) feed of a chapter's action calls, built with the ``icalendar`` package.

``icalendar`` (with ``dateutil``) adds about 3 MB to a running node, so it is imported when a
feed is first asked for, not at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from protocol.events import ActionCall, summary_line


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
        zone = _zone(call.timezone)
        event.add("dtstart", call.start.astimezone(zone) if zone else call.start)
        event.add("dtend", call.end.astimezone(zone) if zone else call.end)
        event.add("summary", call.title)
        event.add("description", summary_line(call))
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


def _zone(name: str | None) -> ZoneInfo | None:
    """Local times in the call's own zone, so calendars show what organisers wrote."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
