"""Validating what organisers type for an action call; every error names its field."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from protocol.errors import ChapterhouseError, MalformedDocument
from protocol.events import MAX_TITLE, Place, Target, validate_metric
from protocol.ids import parse_id

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "ul",
    "ol",
    "li",
    "a",
    "blockquote",
    "h3",
    "h4",
    "code",
    "pre",
}
TARGET_TEXT = re.compile(r"^(?P<metric>[^=]+)=(?P<value>[^:]+):(?P<unit>.+)$")
TAG = re.compile(r"^[A-Za-z0-9_]{1,64}$")
MAX_DESCRIPTION = 50_000


class FieldError(ChapterhouseError):
    """One input field is invalid; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class ActionInput:
    """Validated fields; ``None`` means "not given" (updates keep the current value)."""

    title: str | None = None
    description: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    timezone: str | None = None
    place: Place | None = None
    online_url: str | None = None
    capacity: int | None = None
    clear_capacity: bool = False
    goal: str | None = None
    targets: tuple[Target, ...] | None = None
    tags: tuple[str, ...] | None = None


def sanitize_html(text: str) -> str:
    """Organisers write HTML; readers get only harmless markup."""
    import nh3  # 1.4 MB resident: loaded with the first HTML to clean, not by every process

    return nh3.clean(
        text,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )


def sanitized(doc: Mapping[str, object]) -> dict[str, object]:
    """A remote object as we store it: its HTML ``content`` cleaned by the allow-list.

    (Our copy's proof no longer covers the cleaned text; the proof was checked on arrival
    and the origin's copy stays verifiable.)
    """
    copy = dict(doc)
    content = copy.get("content")
    if isinstance(content, str):
        copy["content"] = sanitize_html(content)
    if not _web_link(copy.get("url")):
        copy.pop("url", None)
    location = copy.get("location")
    if isinstance(location, Mapping) and "url" in location and not _web_link(location.get("url")):
        copy["location"] = {k: v for k, v in location.items() if k != "url"}
    attachments = copy.get("attachment")
    if isinstance(attachments, list):
        copy["attachment"] = [
            a
            for a in attachments
            if not isinstance(a, Mapping) or _web_link(a.get("href", "https:"))
        ]
    return copy


def _web_link(value: object) -> bool:
    """Only http(s) links reach members (no ``javascript:``, ``data:`` or ``file:``)."""
    return isinstance(value, str) and value.lower().startswith(("https://", "http://"))


def _text(data: Mapping[str, object], field: str, limit: int) -> str | None:
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(field, "must be a string")
    value = value.strip()
    if not value:
        raise FieldError(field, "must not be empty")
    if len(value) > limit:
        raise FieldError(field, f"must be at most {limit} characters")
    return value


def parse_time(field: str, value: object) -> datetime:
    if not isinstance(value, str):
        raise FieldError(
            field, "must be an RFC 3339 date-time string such as 2027-04-12T10:00:00+01:00"
        )
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise FieldError(field, f"{value!r} is not an RFC 3339 date-time") from exc
    if parsed.tzinfo is None:
        raise FieldError(field, f"{value!r} has no UTC offset (write e.g. +01:00 or Z)")
    return parsed.replace(microsecond=0)


def parse_timezone(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > 64 or ".." in value:
        raise FieldError("timezone", "must be an IANA time zone name such as Europe/London")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise FieldError("timezone", f"unknown time zone {value!r}") from exc
    return value


def parse_target_text(text: str) -> Target:
    """``participants=50:people`` (the CLI form)."""
    match = TARGET_TEXT.match(text.strip())
    if match is None:
        raise FieldError(
            "targets", f"{text!r} must look like metric=amount:unit, e.g. participants=50:people"
        )
    try:
        amount = float(match["value"])
    except ValueError as exc:
        raise FieldError("targets", f"amount {match['value']!r} is not a number") from exc
    return _target(match["metric"].strip(), match["unit"].strip(), amount)


def _target(metric: str, unit: str, amount: float) -> Target:
    try:
        validate_metric(metric)
    except MalformedDocument as exc:
        raise FieldError("targets", str(exc)) from exc
    if not unit or len(unit) > 32:
        raise FieldError("targets", f"unit for {metric} must be 1-32 characters")
    if not math.isfinite(amount) or amount < 0:
        raise FieldError("targets", f"target for {metric} must be a non-negative number")
    return Target(metric, unit, amount)


def _targets(value: object) -> tuple[Target, ...]:
    if not isinstance(value, list) or len(value) > 32:
        raise FieldError("targets", "must be a list of at most 32 {metric, unit, target} objects")
    out = []
    for item in value:
        if isinstance(item, str):
            out.append(parse_target_text(item))
            continue
        if not isinstance(item, Mapping):
            raise FieldError("targets", "each target must be an object {metric, unit, target}")
        metric, unit, amount = item.get("metric"), item.get("unit"), item.get("target")
        if not isinstance(metric, str) or not isinstance(unit, str):
            raise FieldError("targets", "each target needs a metric and a unit")
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise FieldError("targets", f"target for {metric} must be a number")
        out.append(_target(metric, unit, float(amount)))
    metrics = [(t.metric, t.unit) for t in out]
    if len(set(metrics)) != len(metrics):
        raise FieldError("targets", "each metric and unit may appear once")
    return tuple(out)


def _place(value: object) -> Place:
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, Mapping):
        raise FieldError(
            "place", "must be a name or an object {name, address, latitude, longitude}"
        )
    name = _text(value, "name", MAX_TITLE)
    if name is None:
        raise FieldError("place", "needs a name")
    address = _text(value, "address", 500)
    lat, lon = value.get("latitude"), value.get("longitude")
    if lat is None and lon is None:
        return Place(name, address)
    if (
        isinstance(lat, bool)
        or not isinstance(lat, int | float)
        or isinstance(lon, bool)
        or not isinstance(lon, int | float)
    ):
        raise FieldError("place", "latitude and longitude must both be numbers")
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise FieldError("place", "latitude must be within ±90 and longitude within ±180")
    return Place(name, address, float(lat), float(lon))


def _capacity(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError("capacity", "must be a whole number of places")
    if value < 1:
        raise FieldError("capacity", f"must be at least 1 (got {value})")
    if value > 10_000_000:
        raise FieldError("capacity", "is unreasonably large")
    return value


KNOWN_FIELDS = {
    "title",
    "description",
    "start",
    "end",
    "timezone",
    "place",
    "online_url",
    "capacity",
    "goal",
    "targets",
    "tags",
}


def parse_action_input(
    data: Mapping[str, object], *, creating: bool, allow_http: bool
) -> ActionInput:
    """Validate API/CLI input; ``creating`` requires title, start and end."""
    unknown = sorted(set(data) - KNOWN_FIELDS)
    if unknown:
        raise FieldError(unknown[0], "is not a field of an action call")
    title = _text(data, "title", MAX_TITLE)
    if creating and title is None:
        raise FieldError("title", "is required")
    description = data.get("description")
    if description is not None:
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
            raise FieldError(
                "description", f"must be HTML text of at most {MAX_DESCRIPTION} characters"
            )
        description = sanitize_html(description)
    start = parse_time("start", data["start"]) if data.get("start") is not None else None
    end = parse_time("end", data["end"]) if data.get("end") is not None else None
    if creating and start is None:
        raise FieldError("start", "is required")
    if creating and end is None:
        raise FieldError("end", "is required")
    timezone = parse_timezone(data["timezone"]) if data.get("timezone") is not None else None
    place = _place(data["place"]) if data.get("place") is not None else None
    online = None
    if data.get("online_url") is not None:
        try:
            online = parse_id(data["online_url"], allow_http=allow_http)
        except MalformedDocument as exc:
            raise FieldError("online_url", str(exc)) from exc
    capacity = None
    clear_capacity = "capacity" in data and data["capacity"] is None and not creating
    if data.get("capacity") is not None:
        capacity = _capacity(data["capacity"])
    tags = None
    if data.get("tags") is not None:
        raw_tags = data["tags"]
        if not isinstance(raw_tags, list) or not all(
            isinstance(t, str) and TAG.match(t.lstrip("#")) for t in raw_tags
        ):
            raise FieldError("tags", "must be a list of hashtags (letters, digits, _)")
        tags = tuple(t.lstrip("#") for t in raw_tags)[:16]
    return ActionInput(
        title=title,
        description=description,
        start=start,
        end=end,
        timezone=timezone,
        place=place,
        online_url=online,
        capacity=capacity,
        clear_capacity=clear_capacity,
        goal=_text(data, "goal", 1000),
        targets=_targets(data["targets"]) if data.get("targets") is not None else None,
        tags=tags,
    )


def check_times(start: datetime, end: datetime) -> None:
    if end <= start:
        raise FieldError(
            "end", f"must be after start ({end.isoformat()} is not after {start.isoformat()})"
        )
