"""One instant, one zone: every rendering of a call shows the same local time (issue 15).

A real node on loopback; calls are made through the API and read back as a person, a peer and a
calendar would: the call's page (HTML), its Event (the ``summary`` Mastodon shows), the API,
the chapter's Atom feed and its iCalendar feed. The cases sit on daylight-saving changes, where
a time written with the wrong offset or read in the wrong zone shows up as an hour's difference.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from storage.models import ActionCall as CallRow
from tests.rig.api import call_api
from tests.rig.http import get_json
from tests.rig.nodes import Node

ACTIONS = "/api/v1/chapters/greenpark/actions"
ATOM = "{http://www.w3.org/2005/Atom}"
CH = "{https://w3id.org/chapterhouse#}"


@dataclass(frozen=True)
class Case:
    """What an organiser sends, and what every rendering must then say (worked out by hand)."""

    name: str
    start: str
    end: str
    zone: str
    start_utc: datetime
    end_utc: datetime
    start_iso: str  # the instant with the zone's offset then
    end_iso: str
    span: str  # how the page, the summary, the API and Atom write it


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


CASES = [
    Case(  # clocks go forward at 01:00 GMT: 00:30 GMT, 03:00 BST
        "london-spring",
        "2027-03-28T00:30",
        "2027-03-28T03:00",
        "Europe/London",
        utc(2027, 3, 28, 0, 30),
        utc(2027, 3, 28, 2, 0),
        "2027-03-28T00:30:00+00:00",
        "2027-03-28T03:00:00+01:00",
        "Sun 28 Mar 2027 00:30–03:00 (Europe/London)",
    ),
    Case(  # 01:30 happens twice; without an offset it is the first (BST)
        "london-autumn-first",
        "2027-10-31T01:30",
        "2027-10-31T03:00",
        "Europe/London",
        utc(2027, 10, 31, 0, 30),
        utc(2027, 10, 31, 3, 0),
        "2027-10-31T01:30:00+01:00",
        "2027-10-31T03:00:00+00:00",
        "Sun 31 Oct 2027 01:30–03:00 (Europe/London)",
    ),
    Case(  # ...and with the GMT offset, the second
        "london-autumn-second",
        "2027-10-31T01:30:00+00:00",
        "2027-10-31T03:00:00+00:00",
        "Europe/London",
        utc(2027, 10, 31, 1, 30),
        utc(2027, 10, 31, 3, 0),
        "2027-10-31T01:30:00+00:00",
        "2027-10-31T03:00:00+00:00",
        "Sun 31 Oct 2027 01:30–03:00 (Europe/London)",
    ),
    Case(  # EST to EDT at 02:00
        "new-york-spring",
        "2027-03-14T01:30",
        "2027-03-14T03:30",
        "America/New_York",
        utc(2027, 3, 14, 6, 30),
        utc(2027, 3, 14, 7, 30),
        "2027-03-14T01:30:00-05:00",
        "2027-03-14T03:30:00-04:00",
        "Sun 14 Mar 2027 01:30–03:30 (America/New_York)",
    ),
    Case(  # over midnight into the night EDT ends (01:30 repeats: the first, EDT)
        "new-york-autumn-overnight",
        "2027-11-06T22:00",
        "2027-11-07T01:30",
        "America/New_York",
        utc(2027, 11, 7, 2, 0),
        utc(2027, 11, 7, 5, 30),
        "2027-11-06T22:00:00-04:00",
        "2027-11-07T01:30:00-04:00",
        "Sat 06 Nov 2027 22:00–Sun 07 Nov 2027 01:30 (America/New_York)",
    ),
    Case(  # Lord Howe Island moves its clocks by half an hour (+11:00 to +10:30)
        "lord-howe-autumn",
        "2027-04-04T01:45",
        "2027-04-04T03:00",
        "Australia/Lord_Howe",
        utc(2027, 4, 3, 14, 45),
        utc(2027, 4, 3, 16, 30),
        "2027-04-04T01:45:00+11:00",
        "2027-04-04T03:00:00+10:30",
        "Sun 04 Apr 2027 01:45–03:00 (Australia/Lord_Howe)",
    ),
    Case(  # the issue's call, written with the right offset for July
        "london-summer-offset",
        "2027-07-12T11:00:00+01:00",
        "2027-07-12T13:00:00+01:00",
        "Europe/London",
        utc(2027, 7, 12, 10, 0),
        utc(2027, 7, 12, 12, 0),
        "2027-07-12T11:00:00+01:00",
        "2027-07-12T13:00:00+01:00",
        "Mon 12 Jul 2027 11:00–13:00 (Europe/London)",
    ),
]


@dataclass
class World:
    node: Node
    organiser: str

    async def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return await call_api(self.node.base_url, self.organiser, method, path, body)

    async def stored_calls(self) -> int:
        async with self.node.services.db.read() as session:
            return int(await session.scalar(select(func.count()).select_from(CallRow)) or 0)


@pytest.fixture
async def world(nodes) -> World:
    node = await nodes()
    await node.chapter("greenpark", title="Green Park Clean-up Crew")
    organiser = await node.member("olga", role="organiser", chapter="greenpark")
    assert organiser.token is not None
    return World(node, organiser.token)


async def fetch(url: str, accept: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(url, headers={"Accept": accept}) as r:
        assert r.status == 200, (url, r.status, await r.text())
        return await r.text()


def ics_events(text: str) -> dict[str, Any]:
    from icalendar import Calendar

    return {str(e["UID"]): e for e in Calendar.from_ical(text).walk("VEVENT")}


def check_ics_time(prop: Any, instant: datetime, zone: str, what: str) -> None:
    """An iCalendar date-time: the same instant, written in the call's zone (or in UTC)."""
    value = prop.dt
    assert value.tzinfo is not None, (what, value)
    # (Compared in UTC: Python never finds a repeated local time equal to another zone's.)
    assert value.astimezone(UTC) == instant, (what, value, instant)
    tzid = prop.params.get("TZID")
    if tzid is not None:
        assert tzid == zone, (what, tzid)


async def test_page_summary_api_atom_and_icalendar_show_the_same_local_time(world):
    made: dict[str, Case] = {}
    for case in CASES:
        body = {
            "title": f"Call {case.name}",
            "start": case.start,
            "end": case.end,
            "timezone": case.zone,
            "place": "Lock 7",
        }
        status, call = await world.api("POST", ACTIONS, body)
        assert status == 201, (case.name, call)
        made[call["id"]] = case

    base = world.node.base_url
    atom = ET.fromstring(await fetch(f"{base}/actors/greenpark/feed.atom", "application/atom+xml"))
    atom_entries = {e.findtext(f"{ATOM}id"): e for e in atom.iter(f"{ATOM}entry")}
    calendar = ics_events(await fetch(f"{base}/actors/greenpark/calendar.ics", "text/calendar"))
    problems = []
    for call_id, case in made.items():
        # 1. The API.
        status, api = await world.api("GET", f"{ACTIONS}/{call_id.rsplit('/', 1)[1]}")
        assert status == 200, api
        got = (api["start"], api["end"], api["timezone"], api["summary"].split(" · ")[0])
        if got != (case.start_iso, case.end_iso, case.zone, case.span):
            problems.append((case.name, "api", got))
        # 2. The Event other servers receive: what Mastodon shows is its summary.
        doc = await get_json(call_id)
        got = (doc["startTime"], doc["endTime"], doc["timezone"], doc["summary"].split(" · ")[0])
        if got != (case.start_iso, case.end_iso, case.zone, case.span):
            problems.append((case.name, "event", got))
        instant = datetime.fromisoformat(doc["startTime"])
        if instant != case.start_utc:
            problems.append((case.name, "event instant", instant))
        # 3. The page.
        html = await fetch(call_id, "text/html")
        if case.span not in html:
            problems.append((case.name, "page", case.span))
        # 4. Atom.
        entry = atom_entries[call_id]
        got_atom = (
            (entry.findtext(f"{ATOM}summary") or "").split(" · ")[0],
            entry.findtext(f"{CH}start"),
            entry.find(f"{CH}start").get("timezone"),  # type: ignore[union-attr]
        )
        if got_atom != (case.span, case.start_iso, case.zone):
            problems.append((case.name, "atom", got_atom))
        # 5. iCalendar: DTSTART/DTEND in the zone are the same instants.
        vevent = calendar[call_id]
        check_ics_time(vevent["DTSTART"], case.start_utc, case.zone, f"{case.name} DTSTART")
        check_ics_time(vevent["DTEND"], case.end_utc, case.zone, f"{case.name} DTEND")
        if not str(vevent["DESCRIPTION"]).startswith(case.span):
            problems.append((case.name, "ics description", str(vevent["DESCRIPTION"])))
    assert not problems, problems


async def test_the_issue_call_written_with_a_zone_it_contradicts_is_refused(world):
    """10:00+00:00 is 11:00 in London in July: which one was meant? Ask, store nothing."""
    status, body = await world.api(
        "POST",
        ACTIONS,
        {
            "title": "Two times",
            "start": "2027-07-12T10:00:00+00:00",
            "end": "2027-07-12T12:00:00+00:00",
            "timezone": "Europe/London",
        },
    )
    assert status == 422, body
    assert body["detail"] == (
        "start: 2027-07-12T10:00:00+00:00 is 11:00 in Europe/London (UTC+01:00), not 10:00: "
        "give the time as 2027-07-12T11:00:00+01:00, or without an offset"
    )
    assert await world.stored_calls() == 0


async def test_times_without_an_offset_are_read_in_the_zone_and_gaps_are_refused(world):
    # No offset, no zone anywhere (the chapter has none): refused, saying how to fix it.
    status, body = await world.api(
        "POST", ACTIONS, {"title": "When?", "start": "2027-07-12T10:00", "end": "2027-07-12T12:00"}
    )
    assert status == 422, body
    assert "no UTC offset and no time zone" in body["detail"], body
    assert "chapter update" in body["detail"], body
    # 01:30 does not happen in London on 28 March 2027.
    status, body = await world.api(
        "POST",
        ACTIONS,
        {
            "title": "In the gap",
            "start": "2027-03-28T01:30",
            "end": "2027-03-28T04:00",
            "timezone": "Europe/London",
        },
    )
    assert status == 422, body
    assert body["detail"].startswith("start: 2027-03-28 01:30 does not exist in Europe/London")
    assert "from 01:00 to 02:00" in body["detail"], body
    assert await world.stored_calls() == 0

    # With the chapter's zone set, a time without an offset is local time there.
    from node.features.actors.local import update_chapter

    await update_chapter(world.node.services, "greenpark", timezone="America/New_York")
    status, call = await world.api(
        "POST", ACTIONS, {"title": "Local", "start": "2027-07-12T10:00", "end": "2027-07-12T12:00"}
    )
    assert status == 201, call
    assert (call["start"], call["end"], call["timezone"]) == (
        "2027-07-12T10:00:00-04:00",
        "2027-07-12T12:00:00-04:00",
        "America/New_York",
    )
    # A later patch of the start, again without an offset, is read in the call's zone; a patch
    # of the zone alone keeps the instants and shows them there.
    path = f"{ACTIONS}/{call['id'][-26:]}"
    status, call = await world.api("PATCH", path, {"start": "2027-07-12T09:00"})
    assert status == 200, call
    assert call["start"] == "2027-07-12T09:00:00-04:00"
    status, call = await world.api("PATCH", path, {"timezone": "Europe/London"})
    assert status == 200, call
    assert (call["start"], call["end"]) == (
        "2027-07-12T14:00:00+01:00",
        "2027-07-12T17:00:00+01:00",
    )
    assert call["summary"].startswith("Mon 12 Jul 2027 14:00–17:00 (Europe/London)")
