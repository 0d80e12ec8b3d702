"""Time checks on signatures: is the signed ``Date`` / ``created`` inside the window, has
``expires`` passed. ``now`` always comes from the caller; nothing here reads the clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

from protocol.errors import MalformedDocument, SignatureError, SignatureFailure
from protocol.httpsig.failures import malformed
from protocol.httpsig.message import HttpRequest
from protocol.timefmt import ensure_aware_utc, parse_http_date

DEFAULT_WINDOW: Final = timedelta(hours=1)
_UNIX_TIME: Final = re.compile(r"\d{1,12}(\.\d{1,9})?")


def epoch(value: str | int | float, what: str) -> datetime:
    """A Unix timestamp (cavage sends text, RFC 9421 an integer) as an aware UTC datetime."""
    if isinstance(value, str):
        if not _UNIX_TIME.fullmatch(value.strip()):
            raise malformed(f"{what} is not a Unix timestamp")
        value = float(value)
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise malformed(f"{what} is out of range") from exc


def epoch_text(value: datetime | int | str) -> str:
    """A timestamp as written in cavage parameters and ``(created)`` lines: whole seconds."""
    if isinstance(value, datetime):
        return str(int(ensure_aware_utc(value).timestamp()))
    return str(value)


def check_fresh(what: str, at: datetime, now: datetime, window: timedelta) -> None:
    """Refuse a signed time more than ``window`` away from ``now``, in either direction."""
    if at - now > window:
        raise SignatureError(SignatureFailure.EXPIRED, f"{what} is too far in the future")
    if now - at > window:
        raise SignatureError(SignatureFailure.EXPIRED, f"{what} is outside the time window")


def check_expires(expires: datetime | None, now: datetime) -> None:
    """Refuse a signature whose signer said it stops being valid before ``now``."""
    if expires is not None and expires < now:
        raise SignatureError(SignatureFailure.EXPIRED, "signature has expired")


def signed_date(request: HttpRequest, *, strict: bool) -> datetime | None:
    """The ``Date`` field as a time; unparsable is malformed only under the strict policy
    (spec vectors replayed with ``strict=False`` need not carry a usable date)."""
    raw = request.header("date")
    if raw is None:
        return None  # a covered but absent field fails when the base is built
    try:
        return parse_http_date(raw)
    except MalformedDocument as exc:
        if strict:
            raise malformed("Date header is not a valid HTTP date") from exc
        return None
