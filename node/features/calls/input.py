"""Validating what organisers type for an action call; every error names its field."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from node.features.calls.errors import FieldError as FieldError  # callers import it here
from node.features.calls.slot_input import SlotInput, parse_slots_input
from protocol.chapter_profile import InvalidProfileField, validate_language
from protocol.errors import N_, MalformedDocument
from protocol.events import MAX_TITLE, Place, Target, validate_metric
from protocol.ids import parse_id
from protocol.language_maps import MAX_LANGUAGES
from protocol.localtime import WallTime, parse_wall_time, zone_info

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


@dataclass(frozen=True, slots=True)
class ActionInput:
    """Validated fields of a create or a patch. ``None`` means "not given": an update keeps the
    current value. ``cleared`` names the fields given as ``null`` (an update removes them).

    ``place`` holds only the place's fields that were given (``name``, ``address``, ``latitude``
    and ``longitude``; a ``None`` value removes that one), so ``--address`` alone changes the
    address and keeps the name and the coordinates. ``targets`` replaces the whole list;
    ``set_targets`` adds or replaces one metric and unit each, ``remove_targets`` removes them.
    Times stay as typed (:class:`WallTime`) until the call's zone is known
    (node/features/calls/patch.py)."""

    title: str | None = None
    description: str | None = None
    start: WallTime | None = None
    end: WallTime | None = None
    timezone: str | None = None
    place: Mapping[str, object] | None = None
    online_url: str | None = None
    capacity: int | None = None
    goal: str | None = None
    targets: tuple[Target, ...] | None = None
    set_targets: tuple[Target, ...] = ()
    remove_targets: tuple[tuple[str, str], ...] = ()
    tags: tuple[str, ...] | None = None
    #: The call's slots, replacing all it has (``()``: none); placed in time by slots.py.
    slots: tuple[SlotInput, ...] | None = None
    #: The language title and description are written in (BCP 47), and translations of
    #: them (tag → text; the description's sanitised like the description), each replacing
    #: the whole map.
    language: str | None = None
    title_map: Mapping[str, str] | None = None
    description_map: Mapping[str, str] | None = None
    cleared: frozenset[str] = frozenset()

    def is_empty(self) -> bool:
        return self == ActionInput()


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
    translations = copy.get("contentMap")
    if isinstance(translations, Mapping):  # every language's HTML is shown as the content is
        copy["contentMap"] = {
            k: sanitize_html(v) if isinstance(v, str) else v for k, v in translations.items()
        }
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
        raise FieldError(field, N_("must be a string"))
    value = value.strip()
    if not value:
        raise FieldError(field, N_("must not be empty"))
    if len(value) > limit:
        raise FieldError(field, N_("must be at most {limit} characters"), limit=limit)
    return value


def parse_time(field: str, value: object) -> WallTime:
    """``2027-07-12T10:00`` (local time in the call's zone) or with an offset (an instant)."""
    if not isinstance(value, str):
        raise FieldError(
            field, N_("must be a date and time such as 2027-07-12T10:00 or 2027-07-12T10:00+01:00")
        )
    try:
        return parse_wall_time(value)
    except MalformedDocument as exc:
        raise FieldError.about(field, exc) from exc


def parse_timezone(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FieldError("timezone", N_("must be an IANA time zone name such as Europe/London"))
    try:
        zone_info(value.strip())
    except MalformedDocument as exc:
        raise FieldError.about("timezone", exc) from exc
    return value.strip()


def parse_target_text(text: str) -> Target:
    """``participants=50:people`` (the CLI form)."""
    match = TARGET_TEXT.match(text.strip())
    if match is None:
        raise FieldError(
            "targets",
            N_("{text!r} must look like metric=amount:unit, e.g. participants=50:people"),
            text=text,
        )
    try:
        amount = float(match["value"])
    except ValueError as exc:
        raise FieldError(
            "targets", N_("amount {value!r} is not a number"), value=match["value"]
        ) from exc
    return _target(match["metric"].strip(), match["unit"].strip(), amount)


def _target(metric: str, unit: str, amount: float) -> Target:
    try:
        validate_metric(metric)
    except MalformedDocument as exc:
        raise FieldError.about("targets", exc) from exc
    if not unit or len(unit) > 32:
        raise FieldError("targets", N_("unit for {metric} must be 1-32 characters"), metric=metric)
    if not math.isfinite(amount) or amount < 0:
        raise FieldError(
            "targets", N_("target for {metric} must be a non-negative number"), metric=metric
        )
    return Target(metric, unit, amount)


def _targets(value: object) -> tuple[Target, ...]:
    if not isinstance(value, list) or len(value) > 32:
        raise FieldError(
            "targets", N_("must be a list of at most 32 {metric, unit, target} objects")
        )
    out = []
    for item in value:
        if isinstance(item, str):
            out.append(parse_target_text(item))
            continue
        if not isinstance(item, Mapping):
            raise FieldError("targets", N_("each target must be an object {metric, unit, target}"))
        metric, unit, amount = item.get("metric"), item.get("unit"), item.get("target")
        if not isinstance(metric, str) or not isinstance(unit, str):
            raise FieldError("targets", N_("each target needs a metric and a unit"))
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise FieldError("targets", N_("target for {metric} must be a number"), metric=metric)
        out.append(_target(metric, unit, float(amount)))
    metrics = [(t.metric, t.unit) for t in out]
    if len(set(metrics)) != len(metrics):
        raise FieldError("targets", N_("each metric and unit may appear once"))
    return tuple(out)


PLACE_FIELDS = ("name", "address", "latitude", "longitude")


#: What a place's coordinate must be, worded whole for each (a word put in a sentence would
#: stay English).
WHAT_NUMBER = {
    "latitude": N_("latitude must be a number"),
    "longitude": N_("longitude must be a number"),
}
WHAT_WITHIN = {
    "latitude": N_("latitude must be within ±{limit}"),
    "longitude": N_("longitude must be within ±{limit}"),
}


def _coordinate(value: object, limit: int, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FieldError("place", WHAT_NUMBER[what])
    if not -limit <= value <= limit:
        raise FieldError("place", WHAT_WITHIN[what], limit=limit)
    return float(value)


def _place(value: object) -> dict[str, object]:
    """The place's fields that were given: a name alone (a string) or an object; a ``null``
    address or coordinates remove them. Latitude and longitude come together."""
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, Mapping):
        raise FieldError(
            "place", N_("must be a name or an object {name, address, latitude, longitude}")
        )
    unknown = sorted(set(value) - set(PLACE_FIELDS))
    if unknown:
        raise FieldError("place", N_("{name!r} is not a field of a place"), name=unknown[0][:40])
    given: dict[str, object] = {}
    if "name" in value:
        name = _text(value, "name", MAX_TITLE)
        if name is None:
            raise FieldError("place", N_("needs a name (to remove the place, send place: null)"))
        given["name"] = name
    if "address" in value:
        given["address"] = _text(value, "address", 500)
    if ("latitude" in value) != ("longitude" in value):
        raise FieldError("place", N_("give latitude and longitude together"))
    if "latitude" in value:
        lat = _coordinate(value["latitude"], 90, "latitude")
        lon = _coordinate(value["longitude"], 180, "longitude")
        if (lat is None) != (lon is None):
            raise FieldError(
                "place", N_("latitude and longitude must both be numbers, or both null")
            )
        given["latitude"], given["longitude"] = lat, lon
    if not given:
        raise FieldError("place", N_("give at least one of name, address, latitude and longitude"))
    return given


def merge_place(current: Place | None, given: Mapping[str, object]) -> Place:
    """``current`` with the ``given`` fields changed (``--address`` keeps the name...)."""
    fields: dict[str, object] = {k: None for k in PLACE_FIELDS}
    if current is not None:
        fields.update(
            name=current.name,
            address=current.address,
            latitude=current.latitude,
            longitude=current.longitude,
        )
    fields.update(given)
    name = fields["name"]
    if not isinstance(name, str):
        raise FieldError("place", N_("this call has no place yet: give the place's name too"))
    address = fields["address"]
    lat, lon = fields["latitude"], fields["longitude"]
    return Place(
        name,
        address if isinstance(address, str) else None,
        float(lat) if isinstance(lat, int | float) else None,
        float(lon) if isinstance(lon, int | float) else None,
    )


def _metric_unit(text: object) -> tuple[str, str]:
    """``participants:people`` (what ``--remove-target`` takes)."""
    if not isinstance(text, str) or text.count(":") != 1:
        raise FieldError(
            "remove_targets",
            N_("{text!r} must look like metric:unit, e.g. participants:people"),
            text=str(text)[:80],
        )
    metric, unit = (part.strip() for part in text.split(":"))
    if not metric or not unit:
        raise FieldError("remove_targets", N_("{text!r} needs a metric and a unit"), text=text[:80])
    return metric, unit


def _capacity(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError("capacity", N_("must be a whole number of places"))
    if value < 1:
        raise FieldError("capacity", N_("must be at least 1 (got {value})"), value=value)
    if value > 10_000_000:
        raise FieldError("capacity", N_("is unreasonably large"))
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
    "set_targets",
    "remove_targets",
    "tags",
    "slots",
    "language",
    "titleMap",
    "descriptionMap",
}
#: Fields a patch may remove by sending ``null``; the others a call always has.
CLEARABLE = {
    "description",
    "place",
    "online_url",
    "capacity",
    "goal",
    "targets",
    "tags",
    "slots",
    "titleMap",
    "descriptionMap",
}
MAX_TAGS = 16


def _cleared(data: Mapping[str, object], *, creating: bool) -> frozenset[str]:
    nulls = {k for k, v in data.items() if v is None}
    if creating:
        return frozenset()  # a new call starts with nothing to remove
    kept = sorted(nulls - CLEARABLE)
    if kept:
        raise FieldError(kept[0], N_("cannot be removed (send a new value instead)"))
    return frozenset(nulls)


def _tags(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
        isinstance(t, str) and TAG.match(t.lstrip("#")) for t in value
    ):
        raise FieldError("tags", N_("must be a list of hashtags (letters, digits, _)"))
    if len(value) > MAX_TAGS:
        raise FieldError("tags", N_("at most {limit} hashtags"), limit=MAX_TAGS)
    return tuple(dict.fromkeys(t.lstrip("#") for t in value))


def parse_language(field: str, value: object) -> str:
    """A BCP 47 tag in canonical case, or a ``FieldError`` naming ``field``."""
    try:
        return validate_language(value)
    except InvalidProfileField as exc:
        raise FieldError.about(field, exc) from exc


def parse_text_map(field: str, value: object, limit: int) -> dict[str, str]:
    """``{"fr": "…", "de": "…"}``: valid tags to non-empty texts of at most ``limit`` chars."""
    if not isinstance(value, Mapping):
        raise FieldError(field, N_('must be an object of language tag to text, e.g. {"fr": "…"}'))
    if len(value) > MAX_LANGUAGES:
        raise FieldError(field, N_("at most {limit} languages"), limit=MAX_LANGUAGES)
    out: dict[str, str] = {}
    for key, text in value.items():
        tag = parse_language(f"{field}.{str(key)[:40]}", key)
        if not isinstance(text, str) or not text.strip():
            raise FieldError(f"{field}.{tag}", N_("must be a non-empty string"))
        if len(text) > limit:
            raise FieldError(
                f"{field}.{tag}", N_("must be at most {limit} characters"), limit=limit
            )
        out[tag] = text.strip()
    return out


def _online_url(value: object, allow_http: bool) -> str:
    try:
        return parse_id(value, allow_http=allow_http)
    except MalformedDocument as exc:
        raise FieldError.about("online_url", exc) from exc


def parse_action_input(
    data: Mapping[str, object], *, creating: bool, allow_http: bool
) -> ActionInput:
    """Validate API/CLI/web input; ``creating`` requires title, start and end.

    For an update this is a patch: fields not given keep their value, ``null`` removes one."""
    unknown = sorted(set(data) - KNOWN_FIELDS)
    if unknown:
        raise FieldError(unknown[0], N_("is not a field of an action call"))
    cleared = _cleared(data, creating=creating)
    title = _text(data, "title", MAX_TITLE)
    if creating and title is None:
        raise FieldError("title", N_("is required"))
    description = data.get("description")
    if description is not None:
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
            raise FieldError(
                "description",
                N_("must be HTML text of at most {limit} characters"),
                limit=MAX_DESCRIPTION,
            )
        description = sanitize_html(description)
    start = parse_time("start", data["start"]) if data.get("start") is not None else None
    end = parse_time("end", data["end"]) if data.get("end") is not None else None
    if creating and start is None:
        raise FieldError("start", N_("is required"))
    if creating and end is None:
        raise FieldError("end", N_("is required"))
    timezone = parse_timezone(data["timezone"]) if data.get("timezone") is not None else None
    place = _place(data["place"]) if data.get("place") is not None else None
    online = data.get("online_url")
    language = data.get("language")
    title_map = data.get("titleMap")
    description_map = data.get("descriptionMap")
    descriptions = None
    if description_map is not None:
        descriptions = {
            tag: sanitize_html(text)
            for tag, text in parse_text_map(
                "descriptionMap", description_map, MAX_DESCRIPTION
            ).items()
        }
    removals = data.get("remove_targets")
    if removals is not None and not isinstance(removals, list):
        raise FieldError("remove_targets", N_('must be a list such as ["participants:people"]'))
    return ActionInput(
        title=title,
        description=description,
        start=start,
        end=end,
        timezone=timezone,
        place=place,
        online_url=_online_url(online, allow_http) if online is not None else None,
        capacity=_capacity(data["capacity"]) if data.get("capacity") is not None else None,
        goal=_text(data, "goal", 1000),
        targets=_targets(data["targets"]) if data.get("targets") is not None else None,
        set_targets=_targets(data["set_targets"]) if data.get("set_targets") is not None else (),
        remove_targets=tuple(_metric_unit(r) for r in removals or ()),
        tags=_tags(data["tags"]) if data.get("tags") is not None else None,
        slots=parse_slots_input(data["slots"]) if data.get("slots") is not None else None,
        language=parse_language("language", language) if language is not None else None,
        title_map=parse_text_map("titleMap", title_map, MAX_TITLE)
        if title_map is not None
        else None,
        description_map=descriptions,
        cleared=cleared,
    )


def check_times(start: datetime, end: datetime) -> None:
    if end <= start:
        raise FieldError(
            "end",
            N_("must be after start ({end} is not after {start})"),
            end=end.isoformat(),
            start=start.isoformat(),
        )
