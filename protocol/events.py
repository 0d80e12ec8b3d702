"""Action calls as ActivityStreams ``Event`` objects (DESIGN.md §2).

Mastodon shows only an Event's ``name``, ``summary`` and link, so ``summary`` carries one
plain line "when · where · goal"; Mobilizon's terms (``joinMode``, ``participantCount``,
``maximumAttendeeCapacity``...) keep Mobilizon's meaning; our own terms use the
``chapterhouse:`` prefix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from protocol.errors import MalformedDocument, UnsupportedType
from protocol.ids import parse_id, same_origin
from protocol.jsonld import CONTEXT, PUBLIC, as_list, id_of
from protocol.language_maps import best_language, build_map, original_language, read_map
from protocol.localtime import format_span, in_zone, known_zone, local_iso
from protocol.slots import SLOTS, Slot, build_slots, parse_slots
from protocol.timefmt import format_xsd_datetime, parse_xsd_datetime
from protocol.vocabulary import has_type

CONFIRMED: Final = "CONFIRMED"
CANCELLED: Final = "CANCELLED"
TENTATIVE: Final = "TENTATIVE"
STATUSES: Final = frozenset({CONFIRMED, CANCELLED, TENTATIVE})
METRIC_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_TITLE: Final = 300
MAX_TEXT: Final = 100_000
MAX_TARGETS: Final = 32


@dataclass(frozen=True, slots=True)
class Target:
    """A goal for one metric: ``participants 50 people``."""

    metric: str
    unit: str
    target: float

    def as_json(self) -> dict[str, object]:
        value: float | int = int(self.target) if float(self.target).is_integer() else self.target
        return {"metric": self.metric, "unit": self.unit, "target": value}


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, slots=True)
class ActionCall:
    """A call: ``start`` and ``end`` are instants, ``timezone`` the IANA zone they are shown in
    (None only for calls given with a bare UTC offset, shown in that offset)."""

    id: str
    chapter: str
    title: str
    start: datetime
    end: datetime
    published: datetime
    content: str = ""
    timezone: str | None = None
    place: Place | None = None
    online_url: str | None = None
    capacity: int | None = None
    participant_count: int = 0
    status: str = CONFIRMED
    goal: str | None = None
    targets: tuple[Target, ...] = ()
    join_mode: str = "free"
    campaign: str | None = None
    context: str | None = None
    tags: tuple[str, ...] = ()
    updated: datetime | None = None
    followers: str | None = None
    url: str | None = None
    #: Shifts or roles (protocol/slots.py); a call with slots has their sum as capacity.
    slots: tuple[Slot, ...] = ()
    extra: Mapping[str, object] = field(default_factory=dict)
    #: The BCP 47 tag the title and content are written in (``nameMap``/``contentMap``), and
    #: translations into other languages (tag → title, tag → HTML content).
    language: str | None = None
    title_map: Mapping[str, str] = field(default_factory=dict)
    content_map: Mapping[str, str] = field(default_factory=dict)

    @property
    def cancelled(self) -> bool:
        return self.status == CANCELLED

    @property
    def remaining(self) -> int | None:
        if self.capacity is None:
            return None
        return max(self.capacity - self.participant_count, 0)


def validate_metric(name: str) -> str:
    if not METRIC_NAME.match(name):
        raise MalformedDocument(
            f"metric {name!r} must be lower_snake_case (a-z, 0-9, _), starting with a letter"
        )
    return name


@dataclass(frozen=True, slots=True)
class CallText:
    """The title and content a reader sees, and the language they are in (None: unknown)."""

    title: str
    content: str
    language: str | None


def call_text(call: ActionCall, preferred: Sequence[str]) -> CallText:
    """The version of ``call`` in the language the reader prefers most among those it has
    (translations per field: a missing description falls back to the original's)."""
    own = call.language
    available = dict.fromkeys([*([own] if own else []), *call.title_map, *call.content_map])
    chosen = best_language(available, preferred)
    if chosen is None or chosen == own:
        return CallText(call.title, call.content, own)
    return CallText(
        call.title_map.get(chosen, call.title),
        call.content_map.get(chosen, call.content),
        chosen,
    )


def document_zone(document: object) -> str | None:
    """The IANA zone a stored or fetched call document is shown in (its ``timezone``), when
    it names a known one: what a refusal naming the call's times writes them in."""
    if not isinstance(document, Mapping):
        return None
    return known_zone(document.get("timezone"))


def _when(call: ActionCall) -> str:
    return format_span(call.start, call.end, call.timezone)


def summary_line(call: ActionCall) -> str:
    """One plain line: when · where · goal (what Mastodon and GoToSocial show)."""
    parts = [_when(call)]
    if call.place is not None:
        parts.append(call.place.name)
    elif call.online_url is not None:
        parts.append("online")
    if call.goal:
        parts.append(call.goal)
    line = " · ".join(parts)
    return f"CANCELLED · {line}" if call.cancelled else line


def _place_json(place: Place) -> dict[str, object]:
    doc: dict[str, object] = {"type": "Place", "name": place.name}
    if place.address:
        doc["address"] = {"type": "PostalAddress", "streetAddress": place.address}
    if place.latitude is not None and place.longitude is not None:
        doc["latitude"] = place.latitude
        doc["longitude"] = place.longitude
    return doc


def build_event(call: ActionCall) -> dict[str, object]:
    """The Event document of an action call."""
    doc: dict[str, object] = {
        "@context": CONTEXT,
        "id": call.id,
        "type": "Event",
        "url": call.url or call.id,
        "attributedTo": call.chapter,
        "name": call.title,
        "summary": summary_line(call),
        "content": call.content,
        "mediaType": "text/html",
        # The instant, written with the offset its zone has then (what calendars show).
        "startTime": local_iso(call.start, call.timezone),
        "endTime": local_iso(call.end, call.timezone),
        "published": format_xsd_datetime(call.published),
        "to": [PUBLIC],
        "cc": [call.followers] if call.followers else [],
        "joinMode": call.join_mode,
        "anonymousParticipationEnabled": False,
        "participantCount": call.participant_count,
        "ical:status": call.status,
        "isOnline": call.online_url is not None and call.place is None,
        "chapterhouse:targets": [t.as_json() for t in call.targets],
    }
    if call.timezone:
        doc["timezone"] = call.timezone
    if call.language:
        doc["nameMap"] = build_map(call.language, call.title, call.title_map)
        if call.content or call.content_map:
            doc["contentMap"] = build_map(call.language, call.content, call.content_map)
    if call.updated is not None:
        doc["updated"] = format_xsd_datetime(call.updated)
    if call.place is not None:
        doc["location"] = _place_json(call.place)
    elif call.online_url is not None:
        doc["location"] = {"type": "VirtualLocation", "url": call.online_url}
    if call.online_url is not None:
        doc["attachment"] = [
            {"type": "Link", "mediaType": "text/html", "name": "Online", "href": call.online_url}
        ]
    if call.capacity is not None:
        doc["maximumAttendeeCapacity"] = call.capacity
        doc["remainingAttendeeCapacity"] = call.remaining
    if call.goal:
        doc["chapterhouse:goal"] = call.goal
    if call.campaign:
        doc["chapterhouse:campaign"] = call.campaign
    if call.context:
        doc["context"] = call.context
    if call.tags:
        doc["tag"] = [{"type": "Hashtag", "name": f"#{t}"} for t in call.tags]
    if call.slots:
        doc[SLOTS] = build_slots(call.slots, call.timezone)
    return doc


def _text(
    doc: Mapping[str, object], key: str, *, required: bool = False, limit: int = MAX_TEXT
) -> str | None:
    value = doc.get(key)
    if value is None:
        if required:
            raise MalformedDocument(f"Event has no {key}")
        return None
    if not isinstance(value, str):
        raise MalformedDocument(f"Event {key} must be a string")
    if len(value) > limit:
        raise MalformedDocument(f"Event {key} is longer than {limit} characters")
    return value


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedDocument(f"{what} must be a number")
    if not math.isfinite(value):
        raise MalformedDocument(f"{what} must be finite")
    return float(value)


def _count(value: object, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedDocument(f"{what} must be a non-negative integer")
    return value


def parse_targets(value: object) -> tuple[Target, ...]:
    items = as_list(value)
    if len(items) > MAX_TARGETS:
        raise MalformedDocument(f"more than {MAX_TARGETS} targets")
    out = []
    for item in items:
        if not isinstance(item, Mapping):
            raise MalformedDocument("each target must be an object")
        metric = item.get("metric")
        unit = item.get("unit")
        if not isinstance(metric, str) or not isinstance(unit, str) or not unit or len(unit) > 32:
            raise MalformedDocument("a target needs a metric name and a unit")
        amount = _number(item.get("target"), f"target for {metric}")
        if amount < 0:
            raise MalformedDocument(f"target for {metric} must not be negative")
        out.append(Target(validate_metric(metric), unit, amount))
    return tuple(out)


def _place(value: object) -> tuple[Place | None, str | None]:
    if not isinstance(value, Mapping):
        return None, None
    if has_type(value, "VirtualLocation"):
        url = value.get("url")
        return None, _safe_url(url if isinstance(url, str) else None, True)
    name = value.get("name")
    if not isinstance(name, str):
        return None, None
    address = value.get("address")
    street: str | None = None
    if isinstance(address, Mapping):
        parts = [
            address.get(k)
            for k in (
                "streetAddress",
                "postalCode",
                "addressLocality",
                "addressRegion",
                "addressCountry",
            )
        ]
        street = ", ".join(p for p in parts if isinstance(p, str) and p) or None
    elif isinstance(address, str):
        street = address
    lat, lon = value.get("latitude"), value.get("longitude")
    if isinstance(lat, int | float) and isinstance(lon, int | float) and not isinstance(lat, bool):
        return Place(name[:MAX_TITLE], street, float(lat), float(lon)), None
    return Place(name[:MAX_TITLE], street), None


def _online_attachment(value: object, allow_http: bool) -> str | None:
    """The ``Online`` link ``build_event`` attaches (kept when the call also has a place)."""
    for item in as_list(value):
        if has_type(item, "Link") and isinstance(item, Mapping) and item.get("name") == "Online":
            href = item.get("href")
            return _safe_url(href if isinstance(href, str) else None, allow_http)
    return None


def _safe_url(value: str | None, allow_http: bool) -> str | None:
    """Links members will click: http(s) only (never ``javascript:`` or ``data:``)."""
    if value is None:
        return None
    try:
        return parse_id(value, allow_http=allow_http)
    except MalformedDocument:
        return None


def _local_time(text: str) -> datetime:
    """An event time with the offset it was written in (local times stay local)."""
    parse_xsd_datetime(text)  # validates, and insists on an offset
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def parse_event(doc: object, *, allow_http: bool = False) -> ActionCall:
    """Validate a received Event (ours or another server's, e.g. Mobilizon)."""
    if not isinstance(doc, Mapping):
        raise MalformedDocument("Event must be a JSON object")
    if not has_type(doc, "Event"):  # "Event", ["Event"] or ["Event", ...] (AS2 allows lists)
        raise UnsupportedType(f"object of type {doc.get('type')!r:.200} is not an Event")
    call_id = parse_id(doc.get("id"), allow_http=allow_http)
    chapter_ref = id_of(doc.get("attributedTo")) or id_of(doc.get("actor"))
    if chapter_ref is None:
        raise MalformedDocument("Event has no attributedTo")
    chapter = parse_id(chapter_ref, allow_http=allow_http)
    if not same_origin(call_id, chapter):
        raise MalformedDocument("Event id is not on the origin of its attributedTo")
    start_text = _text(doc, "startTime", required=True)
    assert start_text is not None
    start = _local_time(start_text)
    end_text = _text(doc, "endTime")
    end = _local_time(end_text) if end_text else start
    if end < start:
        raise MalformedDocument("Event endTime is before startTime")
    # Shown in the Event's zone whatever offset it was written with (Mobilizon writes UTC); an
    # unknown zone name is dropped, and the times keep their own offset.
    zone = known_zone(_text(doc, "timezone", limit=64))
    start, end = in_zone(start, zone), in_zone(end, zone)
    published_text = _text(doc, "published")
    published = parse_xsd_datetime(published_text) if published_text else start
    updated_text = _text(doc, "updated")
    status = doc.get("ical:status", CONFIRMED)
    if not isinstance(status, str) or status not in STATUSES:
        status = CONFIRMED
    place, online = _place(doc.get("location"))
    if online is None:  # a call with a place and a link too: the link is the attachment
        online = _online_attachment(doc.get("attachment"), allow_http)
    cc = [c for c in as_list(doc.get("cc")) if isinstance(c, str) and c.endswith("/followers")]
    tags = tuple(
        str(t["name"]).lstrip("#")
        for t in as_list(doc.get("tag"))
        if has_type(t, "Hashtag") and isinstance(t, Mapping) and isinstance(t.get("name"), str)
    )[:32]
    join_mode = doc.get("joinMode", "free")
    names = read_map(doc.get("nameMap"), limit=MAX_TITLE)
    contents = read_map(doc.get("contentMap"), limit=MAX_TEXT)
    title = _text(doc, "name", required=not names, limit=MAX_TITLE)
    content = _text(doc, "content")
    language = original_language((names, title), (contents, content))
    if title is None:  # only a nameMap: its entry in the language found, else its first
        title = names.get(language or "", next(iter(names.values())))
    if content is None and contents:
        content = contents.get(language or "", next(iter(contents.values())))
    return ActionCall(
        id=call_id,
        chapter=chapter,
        title=title,
        start=start,
        end=end,
        published=published,
        content=content or "",
        timezone=zone,
        place=place,
        online_url=online,
        capacity=_count(doc.get("maximumAttendeeCapacity"), "maximumAttendeeCapacity"),
        participant_count=_count(doc.get("participantCount"), "participantCount") or 0,
        status=str(status),
        goal=_text(doc, "chapterhouse:goal", limit=MAX_TITLE * 4),
        targets=parse_targets(doc.get("chapterhouse:targets")),
        join_mode=join_mode if isinstance(join_mode, str) else "free",
        campaign=id_of(doc.get("chapterhouse:campaign")),
        context=id_of(doc.get("context")),
        tags=tags,
        updated=parse_xsd_datetime(updated_text) if updated_text else None,
        followers=cc[0] if cc else None,
        url=_safe_url(id_of(doc.get("url")), allow_http),
        slots=parse_slots(doc.get(SLOTS), call_id, start, end, zone),
        language=language,
        title_map={k: v for k, v in names.items() if k != language},
        content_map={k: v for k, v in contents.items() if k != language},
    )
