"""The call form (templates/call_form.html) ↔ the call features' input.

The form asks for a local date and time plus a zone (a ``<select>`` of the IANA zones, starting
at the chapter's), never an RFC 3339 string, and works without JavaScript. The edit form shows
every field filled, targets included, so what it sends is the call as the organiser wants it:
a field left blank is removed, a field the form did not send at all is kept (a patch), and
times that come back exactly as shown are not sent (a time the clocks repeat keeps the
occurrence it had).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from zoneinfo import available_timezones

from node.features.calls.input import FieldError
from protocol.events import ActionCall
from protocol.localtime import in_zone, known_zone

TIME_FIELDS = ("start_date", "start_time", "end_date", "end_time", "timezone")
DEFAULT_ZONE = "UTC"


def zone_choices() -> list[str]:
    """Every IANA zone name, sorted (read from the time zone database, about 600)."""
    return sorted(available_timezones())


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
    }


def new_values(chapter_zone: str | None) -> dict[str, str]:
    """The new-call form: empty, in the chapter's zone."""
    return {"timezone": known_zone(chapter_zone) or DEFAULT_ZONE}


def _time(form: Mapping[str, str], side: str, start_date: str) -> str | None:
    day, clock = form.get(f"{side}_date"), form.get(f"{side}_time")
    if day is None and clock is None:
        return None  # not on this form: unchanged
    day, clock = (day or "").strip() or (start_date if side == "end" else ""), (clock or "").strip()
    if not day or not clock:
        raise FieldError(side, "give a date and a time")
    return f"{day}T{clock}"


def _number(text: str, what: str) -> float:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise FieldError("place", f"{what} must be a number, such as 51.5072") from None


def _place(form: Mapping[str, str]) -> dict[str, object] | None:
    """The place's fields as sent; all blank removes the place."""
    name = form.get("place", "").strip()
    parts = {k: form[k].strip() for k in ("address", "latitude", "longitude") if k in form}
    if not name:
        if any(parts.values()):
            raise FieldError("place", "give the place's name too")
        return None
    place: dict[str, object] = {"name": name}
    if "address" in parts:
        place["address"] = parts["address"] or None
    if "latitude" in parts or "longitude" in parts:
        lat, lon = parts.get("latitude", ""), parts.get("longitude", "")
        if bool(lat) != bool(lon):
            raise FieldError("place", "give latitude and longitude together")
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
    if "capacity" in form:
        text = form["capacity"].strip()
        try:
            data["capacity"] = int(text) if text else None
        except ValueError:
            raise FieldError("capacity", "must be a whole number") from None
    if "targets" in form:
        lines = [t.strip() for t in form["targets"].splitlines() if t.strip()]
        data["targets"] = lines or None
    if "tags" in form:
        tags = [t for t in re.split(r"[\s,]+", form["tags"]) if t]
        data["tags"] = tags or None
    return data
