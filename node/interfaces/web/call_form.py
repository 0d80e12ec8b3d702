"""The call form (templates/call_form.html) ↔ the call features' input.

The form asks for a local date and time plus a zone (a ``<select>`` of the IANA zones, starting
at the chapter's), never an RFC 3339 string, and works without JavaScript. The edit form shows
every field filled, targets included, so what it sends is the call as the organiser wants it:
a field left blank is removed, a field the form did not send at all is kept (a patch), and
times that come back exactly as shown are not sent (a time the clocks repeat keeps the
occurrence it had).

Slots (shifts or roles) are rows of four fields, ``slot_start_N``, ``slot_end_N``,
``slot_name_N`` and ``slot_capacity_N``: the edit form shows the call's slots and a few empty
rows (``slot_rows`` says how many, and comes back with the form). Blank rows are skipped; no
filled row at all removes the slots. A time is ``HH:MM`` on the call's date, or a full
``2027-07-13T10:00`` for another day.

The language the title and description are written in is a ``<select>`` (the chapter's
languages first, then the shipped ones); translations are rows of three fields,
``tr_language_N``, ``tr_title_N`` and ``tr_description_N`` (``translation_rows`` says how
many), read into the same ``titleMap``/``descriptionMap`` the API takes. The edit form shows
every translation the call has, so a row emptied removes that translation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from zoneinfo import available_timezones

from node.features.calls.input import FieldError
from node.interfaces.web.language import N_
from node.runtime.i18n import SHIPPED, language_name
from protocol.events import ActionCall
from protocol.language_maps import MAX_LANGUAGES, language_tag
from protocol.localtime import in_zone, known_zone

TIME_FIELDS = ("start_date", "start_time", "end_date", "end_time", "timezone")
DEFAULT_ZONE = "UTC"
SLOT_FIELDS = ("start", "end", "name", "capacity")
#: Empty slot rows the form offers besides the call's own slots.
EMPTY_SLOT_ROWS = 3
#: At most this many rows are read back (a call has at most 50 slots).
MAX_SLOT_ROWS = 60
TRANSLATION_FIELDS = ("language", "title", "description")
#: Empty translation rows the form offers besides the call's own translations.
EMPTY_TRANSLATION_ROWS = 2


def zone_choices() -> list[str]:
    """Every IANA zone name, sorted (read from the time zone database, about 600)."""
    return sorted(available_timezones())


def language_choices(
    chapter_languages: object, chosen: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """The tags the form offers, each with its own name: the chapter's languages first, then
    the shipped ones, then any the call already uses (so editing never loses one)."""
    listed = chapter_languages if isinstance(chapter_languages, list) else []
    tags = [language_tag(t) for t in [*listed, *SHIPPED, *chosen] if isinstance(t, str)]
    return [(tag, language_name(tag)) for tag in dict.fromkeys(t for t in tags if t)]


def translation_values(call: ActionCall) -> dict[str, str]:
    """The call's language and its translations as rows, then empty rows."""
    tags = [t for t in dict.fromkeys([*call.title_map, *call.content_map]) if t != call.language]
    values = {
        "language": call.language or "",
        "translation_rows": str(len(tags) + EMPTY_TRANSLATION_ROWS),
    }
    for i, tag in enumerate(tags):
        values[f"tr_language_{i}"] = tag
        values[f"tr_title_{i}"] = call.title_map.get(tag, "")
        values[f"tr_description_{i}"] = call.content_map.get(tag, "")
    return values


def _clock(value: ActionCall, which: str, zone: str) -> tuple[str, str]:
    when = in_zone(value.start if which == "start" else value.end, zone)
    return when.date().isoformat(), when.strftime("%H:%M:%S" if when.second else "%H:%M")


def _amount(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def form_values(call: ActionCall, chapter_zone: str | None) -> dict[str, str]:
    """The edit form, filled: every field of ``call``, times as local date and time."""
    zone = known_zone(call.timezone) or known_zone(chapter_zone) or DEFAULT_ZONE
    start_date, start_time = _clock(call, "start", zone)
    end_date, end_time = _clock(call, "end", zone)
    place = call.place
    return {
        "title": call.title,
        "start_date": start_date,
        "start_time": start_time,
        "end_date": end_date,
        "end_time": end_time,
        "timezone": zone,
        "place": place.name if place else "",
        "address": (place.address or "") if place else "",
        "latitude": "" if place is None or place.latitude is None else str(place.latitude),
        "longitude": "" if place is None or place.longitude is None else str(place.longitude),
        "online_url": call.online_url or "",
        "capacity": str(call.capacity) if call.capacity is not None else "",
        "goal": call.goal or "",
        "targets": "\n".join(f"{t.metric}={_amount(t.target)}:{t.unit}" for t in call.targets),
        "tags": " ".join(f"#{t}" for t in call.tags),
        "description": call.content,
        **slot_values(call, zone),
        **translation_values(call),
    }


def _slot_clock(instant: datetime, day: date, zone: str) -> str:
    """``10:00`` on ``day`` (local), else the full local date and time."""
    local = in_zone(instant, zone)
    clock = local.strftime("%H:%M:%S" if local.second else "%H:%M")
    return clock if local.date() == day else f"{local.date().isoformat()}T{clock}"


def slot_values(call: ActionCall, zone: str) -> dict[str, str]:
    """The slot rows, filled with the call's slots, then empty ones. With slots, the capacity
    field stays blank: the call's capacity is their sum."""
    values = {"slot_rows": str(len(call.slots) + EMPTY_SLOT_ROWS)}
    day = in_zone(call.start, zone).date()
    for i, s in enumerate(call.slots):
        start_day = in_zone(s.start, zone).date()
        values[f"slot_start_{i}"] = _slot_clock(s.start, day, zone)
        values[f"slot_end_{i}"] = _slot_clock(s.end, start_day, zone)
        values[f"slot_name_{i}"] = s.name
        values[f"slot_capacity_{i}"] = str(s.capacity)
    if call.slots:
        values["capacity"] = ""
    return values


def new_values(chapter_zone: str | None, language: str = "") -> dict[str, str]:
    """The new-call form: empty, in the chapter's zone and (first) language."""
    return {
        "timezone": known_zone(chapter_zone) or DEFAULT_ZONE,
        "slot_rows": str(EMPTY_SLOT_ROWS),
        "language": language,
        "translation_rows": str(EMPTY_TRANSLATION_ROWS),
    }


def _translations(form: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The filled translation rows as ``titleMap`` and ``descriptionMap`` (their tags are
    checked by the call features, as the API's are). Blank rows are skipped."""
    titles: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    own = form.get("language", "").strip().lower()
    for i in range(MAX_LANGUAGES + EMPTY_TRANSLATION_ROWS):
        tag, title, text = (form.get(f"tr_{k}_{i}", "").strip() for k in TRANSLATION_FIELDS)
        if not title and not text:
            continue
        if not tag:
            raise FieldError(N_("translations"), N_("choose the language of each translation"))
        if tag.lower() == own:
            raise FieldError(
                N_("translations"),
                N_("a translation is in the call's own language: choose another language"),
            )
        if tag.lower() in {t.lower() for t in [*titles, *descriptions]}:
            raise FieldError(N_("translations"), N_("each language can be given only once"))
        if title:
            titles[tag] = title
        if text:
            descriptions[tag] = text
    return titles, descriptions


def _slots(form: Mapping[str, str]) -> list[dict[str, object]]:
    """The filled slot rows, as the API's slot objects (a partly filled row is refused by the
    slots' own checks, which name what is missing)."""
    slots: list[dict[str, object]] = []
    for i in range(MAX_SLOT_ROWS):
        row = {k: form.get(f"slot_{k}_{i}", "").strip() for k in SLOT_FIELDS}
        if not any(row.values()):
            continue
        text = row["capacity"]
        if text and not (text.isdecimal() and text.isascii()):
            name = row["name"] or str(len(slots) + 1)
            raise FieldError("slots", N_("slot {name}: capacity must be a whole number"), name=name)
        slots.append({**row, "capacity": int(text) if text else None})
    return slots


def _time(form: Mapping[str, str], side: str, start_date: str) -> str | None:
    day, clock = form.get(f"{side}_date"), form.get(f"{side}_time")
    if day is None and clock is None:
        return None  # not on this form: unchanged
    day, clock = (day or "").strip() or (start_date if side == "end" else ""), (clock or "").strip()
    if not day or not clock:
        raise FieldError(side, N_("give a date and a time"))
    return f"{day}T{clock}"


#: What a coordinate that is not a number is told, by which coordinate it is.
_NOT_A_NUMBER = {
    "latitude": N_("latitude must be a number, such as 51.5072"),
    "longitude": N_("longitude must be a number, such as 51.5072"),
}


def _number(text: str, what: str) -> float:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise FieldError("place", _NOT_A_NUMBER[what]) from None


def _place(form: Mapping[str, str]) -> dict[str, object] | None:
    """The place's fields as sent; all blank removes the place."""
    name = form.get("place", "").strip()
    parts = {k: form[k].strip() for k in ("address", "latitude", "longitude") if k in form}
    if not name:
        if any(parts.values()):
            raise FieldError("place", N_("give the place's name too"))
        return None
    place: dict[str, object] = {"name": name}
    if "address" in parts:
        place["address"] = parts["address"] or None
    if "latitude" in parts or "longitude" in parts:
        lat, lon = parts.get("latitude", ""), parts.get("longitude", "")
        if bool(lat) != bool(lon):
            raise FieldError("place", N_("give latitude and longitude together"))
        place["latitude"] = _number(lat, "latitude") if lat else None
        place["longitude"] = _number(lon, "longitude") if lon else None
    return place


def _optional(form: Mapping[str, str], data: dict[str, object], key: str) -> None:
    """A field on the form: its value, or None (removed) when left blank."""
    if key in form:
        data[key] = form[key].strip() or None


def call_data(form: Mapping[str, str], shown: Mapping[str, str] | None = None) -> dict[str, object]:
    """The form's fields as the call features take them. ``shown`` is what the edit form was
    filled with: times that come back unchanged are left out."""
    data: dict[str, object] = {}
    if "title" in form:
        data["title"] = form["title"].strip()
    start = _time(form, "start", form.get("start_date", "").strip())
    end = _time(form, "end", form.get("start_date", "").strip())
    unchanged = shown is not None and all(
        form.get(k, "").strip() == shown.get(k, "") for k in TIME_FIELDS
    )
    if not unchanged:
        if start is not None:
            data["start"] = start
        if end is not None:
            data["end"] = end
        if form.get("timezone", "").strip():
            data["timezone"] = form["timezone"].strip()
    if "place" in form:
        data["place"] = _place(form)
    for key in ("online_url", "goal", "description"):
        _optional(form, data, key)
    if form.get("language", "").strip():
        data["language"] = form["language"].strip()
    if "translation_rows" in form:
        titles, descriptions = _translations(form)
        data["titleMap"] = titles or None
        data["descriptionMap"] = descriptions or None
    slots = _slots(form) if "slot_rows" in form else None
    if slots is not None:
        data["slots"] = slots or None
    if "capacity" in form:
        text = form["capacity"].strip()
        try:
            data["capacity"] = int(text) if text else None
        except ValueError:
            raise FieldError("capacity", N_("must be a whole number")) from None
        if slots and not text:
            del data["capacity"]  # the slots' sum
    if "targets" in form:
        lines = [t.strip() for t in form["targets"].splitlines() if t.strip()]
        data["targets"] = lines or None
    if "tags" in form:
        tags = [t for t in re.split(r"[\s,]+", form["tags"]) if t]
        data["tags"] = tags or None
    return data
