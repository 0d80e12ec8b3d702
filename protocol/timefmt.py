"""Wire formats for time: xsd:dateTime (AS2 ``published``) and HTTP-date (``Date`` header).

Everything in and out is an aware UTC ``datetime``: a naive value has no defined instant, so it
is refused rather than guessed (``ensure_aware_utc``). No function here reads the clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Final

from protocol.errors import MalformedDocument

# xsd:dateTime with a mandatory zone: 'Z' or ±hh:mm. Dates alone and other ISO 8601 variants
# that datetime.fromisoformat would also take are deliberately refused.
_XSD_DATETIME: Final = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})"
)
_MAX_HTTP_DATE_LENGTH: Final = 64


def ensure_aware_utc(dt: datetime) -> datetime:
    """Return ``dt`` converted to UTC; raise ``ValueError`` on a naive value (programming error)."""
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        raise ValueError("naive datetime; pass an aware UTC datetime")
    return dt.astimezone(UTC)


def format_http_date(dt: datetime) -> str:
    """IMF-fixdate (RFC 9110 §5.6.7), e.g. ``Sun, 06 Nov 1994 08:49:37 GMT``; no sub-seconds."""
    return format_datetime(ensure_aware_utc(dt).replace(microsecond=0), usegmt=True)


def parse_http_date(value: str) -> datetime:
    """Parse any HTTP-date form (IMF-fixdate, RFC 850, asctime) to aware UTC.

    HTTP-dates are always GMT, so the zone-less asctime form is read as UTC.
    """
    text = value.strip()
    if not text or len(text) > _MAX_HTTP_DATE_LENGTH:
        raise MalformedDocument(f"invalid HTTP date {value!r}")
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError) as exc:
        raise MalformedDocument(f"invalid HTTP date {value!r}") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_xsd_datetime(dt: datetime) -> str:
    """``2027-04-12T09:00:00Z``; fractional seconds appear only when non-zero (exact round trip)."""
    utc = ensure_aware_utc(dt)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_xsd_datetime(value: str) -> datetime:
    """Parse an xsd:dateTime that carries a zone; naive values are refused (no guessing)."""
    if not isinstance(value, str):
        raise MalformedDocument("datetime must be a string")
    match = _XSD_DATETIME.fullmatch(value)
    if match is None:
        raise MalformedDocument(f"invalid or zone-less xsd:dateTime {value!r}")
    frac = (match["frac"] or "")[:6].ljust(6, "0")
    zone = "+00:00" if match["zone"] == "Z" else match["zone"]
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{match['time']}.{frac}{zone}")
    except ValueError as exc:
        raise MalformedDocument(f"invalid xsd:dateTime {value!r}") from exc
    return parsed.astimezone(UTC)
