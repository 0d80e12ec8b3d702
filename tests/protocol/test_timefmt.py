from datetime import UTC, datetime, timedelta, timezone

import pytest

from protocol.errors import MalformedDocument
from protocol.timefmt import (
    ensure_aware_utc,
    format_http_date,
    format_xsd_datetime,
    parse_http_date,
    parse_xsd_datetime,
)

CEST = timezone(timedelta(hours=2))


def test_format_http_date_is_imf_fixdate():
    assert format_http_date(datetime(2014, 1, 5, 21, 31, 40, tzinfo=UTC)) == (
        "Sun, 05 Jan 2014 21:31:40 GMT"
    )


def test_format_http_date_converts_to_utc_and_drops_microseconds():
    dt = datetime(2023, 12, 20, 12, 0, 0, 999_999, tzinfo=CEST)
    assert format_http_date(dt) == "Wed, 20 Dec 2023 10:00:00 GMT"


@pytest.mark.parametrize(
    "value",
    ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"],
)
def test_parse_http_date_accepts_the_three_http_forms(value):
    assert parse_http_date(value) == datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)


def test_http_date_round_trip():
    dt = datetime(2027, 4, 12, 9, 0, tzinfo=UTC)
    parsed = parse_http_date(format_http_date(dt))
    assert parsed == dt
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "value", ["wrong date", "", "   ", "Sun, 99 Nov 1994 08:49:37 GMT", "x" * 200]
)
def test_parse_http_date_rejects_garbage(value):
    with pytest.raises(MalformedDocument):
        parse_http_date(value)


def test_format_xsd_datetime():
    assert format_xsd_datetime(datetime(2027, 4, 12, 9, 0, tzinfo=UTC)) == "2027-04-12T09:00:00Z"
    assert format_xsd_datetime(datetime(2027, 4, 12, 11, 0, tzinfo=CEST)) == "2027-04-12T09:00:00Z"
    assert (
        format_xsd_datetime(datetime(2027, 4, 12, 9, 0, 0, 120_000, tzinfo=UTC))
        == "2027-04-12T09:00:00.12Z"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2027-04-12T09:00:00Z", datetime(2027, 4, 12, 9, 0, tzinfo=UTC)),
        ("2027-04-12T11:00:00+02:00", datetime(2027, 4, 12, 9, 0, tzinfo=UTC)),
        ("2027-04-12T09:00:00.5Z", datetime(2027, 4, 12, 9, 0, 0, 500_000, tzinfo=UTC)),
        ("2027-04-12T09:00:00.1234567Z", datetime(2027, 4, 12, 9, 0, 0, 123_456, tzinfo=UTC)),
    ],
)
def test_parse_xsd_datetime(value, expected):
    parsed = parse_xsd_datetime(value)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        "2027-04-12T09:00:00",  # naive: refused, never guessed
        "2027-04-12",
        "2027-04-12 09:00:00Z",
        "2027-04-12T09:00Z",
        "2027-13-12T09:00:00Z",
        "2027-04-12T25:00:00Z",
        "2027-04-12T09:00:00+24:00",
        "2027-04-12T09:00:00z",
        "",
    ],
)
def test_parse_xsd_datetime_rejects_naive_and_malformed(value):
    with pytest.raises(MalformedDocument):
        parse_xsd_datetime(value)


def test_xsd_round_trip_keeps_microseconds():
    dt = datetime(2023, 2, 24, 23, 36, 38, 654_321, tzinfo=UTC)
    assert parse_xsd_datetime(format_xsd_datetime(dt)) == dt


def test_ensure_aware_utc():
    assert ensure_aware_utc(datetime(2027, 4, 12, 11, 0, tzinfo=CEST)) == datetime(
        2027, 4, 12, 9, 0, tzinfo=UTC
    )
    with pytest.raises(ValueError):
        ensure_aware_utc(datetime(2027, 4, 12, 9, 0))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError):
        format_http_date(datetime(2027, 4, 12, 9, 0))  # noqa: DTZ001
    with pytest.raises(ValueError):
        format_xsd_datetime(datetime(2027, 4, 12, 9, 0))  # noqa: DTZ001
