"""Times as organisers type them and as every copy of a call shows them (protocol/localtime.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from protocol.errors import MalformedDocument
from protocol.events import ActionCall, Place, build_event, parse_event, summary_line
from protocol.localtime import format_span, local_iso, parse_wall_time, resolve_wall_time


def resolve(text: str, zone: str | None) -> datetime:
    return resolve_wall_time(parse_wall_time(text), zone)


def test_an_offset_that_disagrees_with_the_zone_is_refused_naming_both():
    with pytest.raises(MalformedDocument) as refused:
        resolve("2027-07-12T10:00:00+00:00", "Europe/London")
    assert str(refused.value) == (
        "2027-07-12T10:00:00+00:00 is 11:00 in Europe/London (UTC+01:00), not 10:00: "
        "give the time as 2027-07-12T11:00:00+01:00, or without an offset"
    )
    # Far enough off to change the date: the dates are named too.
    with pytest.raises(MalformedDocument, match="is 2027-07-11 21:00 in Europe/London"):
        resolve("2027-07-12T10:00+14:00", "Europe/London")


@pytest.mark.parametrize(
    ("text", "zone", "instant"),
    [
        ("2027-07-12T10:00", "Europe/London", datetime(2027, 7, 12, 9, 0, tzinfo=UTC)),
        ("2027-07-12 10:00:00", "Europe/London", datetime(2027, 7, 12, 9, 0, tzinfo=UTC)),
        ("2027-07-12T11:00:00+01:00", "Europe/London", datetime(2027, 7, 12, 10, tzinfo=UTC)),
        ("2027-07-12T10:00Z", None, datetime(2027, 7, 12, 10, 0, tzinfo=UTC)),
        # 01:30 on 31 October happens twice in London: the first (BST) unless the offset says.
        ("2027-10-31T01:30", "Europe/London", datetime(2027, 10, 31, 0, 30, tzinfo=UTC)),
        ("2027-10-31T01:30+00:00", "Europe/London", datetime(2027, 10, 31, 1, 30, tzinfo=UTC)),
        # Lord Howe Island: half an hour back at 02:00; 01:45 is first read at +11:00.
        ("2027-04-04T01:45", "Australia/Lord_Howe", datetime(2027, 4, 3, 14, 45, tzinfo=UTC)),
    ],
)
def test_times_resolve_to_the_instant_they_mean(text, zone, instant):
    resolved = resolve(text, zone)
    assert resolved.astimezone(UTC) == instant
    assert local_iso(resolved, zone).startswith(text[:10])


@pytest.mark.parametrize(
    ("text", "zone", "message"),
    [
        ("2027-03-28T01:30", "Europe/London", "forward from 01:00 to 02:00"),
        ("2027-03-14T02:30", "America/New_York", "forward from 02:00 to 03:00"),
        ("2027-10-03T02:15", "Australia/Lord_Howe", "forward from 02:00 to 02:30"),
    ],
)
def test_a_time_the_clocks_skip_is_refused(text, zone, message):
    with pytest.raises(
        MalformedDocument, match=f"does not exist in {zone}: the clocks go {message}"
    ):
        resolve(text, zone)


@pytest.mark.parametrize("text", ["2027-07-12", "12/07/2027 10:00", "2027-07-12T25:00", "soon"])
def test_what_is_not_a_date_and_time_is_refused(text):
    with pytest.raises(MalformedDocument):
        parse_wall_time(text)


def test_no_offset_and_no_zone_has_no_meaning():
    with pytest.raises(MalformedDocument, match="no UTC offset and no time zone"):
        resolve("2027-07-12T10:00", None)


def test_a_span_is_written_in_the_zone_whatever_offset_the_instant_carries():
    start = datetime(2027, 7, 12, 10, 0, tzinfo=UTC)
    end = datetime(2027, 7, 13, 1, 0, tzinfo=UTC)
    assert format_span(start, end, "Europe/London") == (
        "Mon 12 Jul 2027 11:00–Tue 13 Jul 2027 02:00 (Europe/London)"
    )
    assert (
        format_span(start, end, None) == "Mon 12 Jul 2027 10:00–Tue 13 Jul 2027 01:00 (UTC+00:00)"
    )


def test_a_received_event_in_utc_is_shown_in_its_zone_and_keeps_a_hybrid_link():
    """Mobilizon writes UTC times with a ``timezone``; a call with a place and a link keeps both."""
    call = ActionCall(
        id="https://a.example/actors/g/actions/1",
        chapter="https://a.example/actors/g",
        title="Canal clean-up",
        start=datetime(2027, 7, 12, 10, 0, tzinfo=UTC),
        end=datetime(2027, 7, 12, 12, 0, tzinfo=UTC),
        published=datetime(2027, 1, 1, tzinfo=UTC),
        timezone="Europe/London",
        place=Place("Lock 7", "Towpath"),
        online_url="https://meet.example/canal",
    )
    doc = build_event(call)
    assert doc["startTime"] == "2027-07-12T11:00:00+01:00"
    assert str(doc["summary"]).startswith("Mon 12 Jul 2027 11:00–13:00 (Europe/London)")
    mobilizon = {**doc, "startTime": "2027-07-12T10:00:00Z", "endTime": "2027-07-12T12:00:00Z"}
    received = parse_event(mobilizon)
    assert received.start.isoformat() == "2027-07-12T11:00:00+01:00"
    assert summary_line(received) == doc["summary"]
    assert received.online_url == "https://meet.example/canal"
    assert received.place == Place("Lock 7", "Towpath")
