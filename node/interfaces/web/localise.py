"""Dates, times, numbers and counts on pages, written the way the page's language writes them.

Each filter reads the request's language from the render's context (``i18n``, put there by
node/interfaces/web/language.py), never from shared state. Times keep their zone: a call's
times are shown in the call's own time zone, with the zone named beside them; stored instants
(a notification, a report of abuse) in UTC, said so.

English keeps the wording the rest of the node uses (protocol/localtime.py ``format_span``,
protocol/wording.py), so a page, the Event's ``summary`` and a feed read alike; the other
languages are written with Babel (CLDR patterns).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from babel.dates import format_date, format_skeleton, format_time
from babel.numbers import format_decimal
from jinja2 import pass_context
from jinja2.runtime import Context

from node.interfaces.web.language import PageLanguage
from node.runtime.i18n import SOURCE
from protocol.errors import ChapterhouseError
from protocol.events import ActionCall, summary_line
from protocol.localtime import Moment, format_span, in_zone, zone_label
from protocol.slots import slot_when
from protocol.wording import SAME_AS_UNIT, measure_text, number_text, plural_of

Number = int | float | Decimal


def number(speaker: PageLanguage, value: Number) -> str:
    """``1,250.5`` / ``1.250,5`` / ``1 250,5``: grouping and decimals as the language writes."""
    if isinstance(value, bool):
        value = int(value)
    if speaker.code == SOURCE:
        return number_text(value)
    exact = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    return format_decimal(exact.normalize() if exact.is_finite() else exact, locale=speaker.locale)


def span(speaker: PageLanguage, start: datetime, end: datetime, zone: str | None) -> str:
    """A call's time in its own zone: ``sáb, 13 jul 2027 10:00-13:00 (Europe/Madrid)`` (with an en dash)."""
    if speaker.code == SOURCE:
        return format_span(start, end, zone)
    first, last = in_zone(start, zone), in_zone(end, zone)
    day = format_skeleton("yMMMEd", first, locale=speaker.locale)
    begins = format_time(first, "short", locale=speaker.locale)
    if last.date() == first.date():
        until = format_time(last, "short", locale=speaker.locale)
    else:
        until = (
            f"{format_skeleton('yMMMEd', last, locale=speaker.locale)} "
            f"{format_time(last, 'short', locale=speaker.locale)}"
        )
    return f"{day} {begins}–{until} ({zone_label(start, zone)})"


def _instant(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def call_summary(speaker: PageLanguage, call: ActionCall | Mapping[str, Any]) -> str:
    """When · where · goal, as ``summary_line`` writes it, in the page's language; ``call`` is
    the call itself or its plain-data view (``call_json``)."""
    if isinstance(call, ActionCall):
        if speaker.code == SOURCE:
            return summary_line(call)
        start, end, zone = call.start, call.end, call.timezone
        place = call.place.name if call.place is not None else None
        online, goal, cancelled = call.online_url is not None, call.goal, call.cancelled
    else:
        if speaker.code == SOURCE and call.get("summary"):
            return str(call["summary"])
        begins, ends = _instant(call.get("start")), _instant(call.get("end"))
        if begins is None or ends is None:
            return str(call.get("summary") or "")
        start, end, zone = begins, ends, call.get("timezone")
        found = call.get("place")
        place = found.get("name") if isinstance(found, Mapping) else None
        online, goal = bool(call.get("online_url")), call.get("goal")
        cancelled = call.get("status") == "cancelled"
    parts = [span(speaker, start, end, zone if isinstance(zone, str) else None)]
    if place:
        parts.append(str(place))
    elif online:
        parts.append(speaker.gettext("online"))
    if goal:
        parts.append(str(goal))
    line = " · ".join(parts)
    return speaker.gettext("CANCELLED · %(line)s", line=line) if cancelled else line


def slots(speaker: PageLanguage, call: ActionCall) -> list[dict[str, object]]:
    """A call's shifts or roles as its page lists them: when (in the call's zone), the role,
    the places left (``slot_views`` in the page's language)."""
    day = in_zone(call.start, call.timezone).date()
    shown: list[dict[str, object]] = []
    for s in call.slots:
        left = (
            speaker.gettext("full")
            if s.remaining == 0
            else speaker.ngettext(
                "%(num)s place left",
                "%(num)s places left",
                s.remaining,
                num=number(speaker, s.remaining),
            )
        )
        shown.append(
            {
                "id": s.id,
                "name": s.name,
                "when": _slot_when(speaker, s.start, s.end, call.timezone, day)
                if speaker.code != SOURCE
                else slot_when(s, call.timezone, day),
                "places": left,
                "full": s.remaining == 0,
            }
        )
    return shown


def _slot_when(
    speaker: PageLanguage, start: datetime, end: datetime, zone: str | None, day: date
) -> str:
    first, last = in_zone(start, zone), in_zone(end, zone)

    def at(moment: datetime, with_day: bool) -> str:
        clock = format_time(moment, "short", locale=speaker.locale)
        if not with_day:
            return clock
        return f"{format_skeleton('MMMEd', moment, locale=speaker.locale)} {clock}"

    return f"{at(first, first.date() != day)}–{at(last, last - first >= timedelta(days=1))}"


def _speaker(context: Context) -> PageLanguage | None:
    found = context.get("i18n")
    return found if isinstance(found, PageLanguage) else None


@pass_context
def number_filter(context: Context, value: Number) -> str:
    speaker = _speaker(context)
    return number(speaker, value) if speaker else number_text(value)


def written(speaker: PageLanguage, value: object) -> object:
    """A param of a feature's message the page's way: a number in its digits and separators, a
    time (``Moment``) in the call's zone in its date and time patterns; anything else as given."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return number(speaker, value)
    if isinstance(value, Moment):
        if speaker.code == SOURCE:
            return str(value)
        shown = in_zone(value.instant, value.zone)
        day = format_skeleton("yMMMEd", shown, locale=speaker.locale)
        clock = format_time(shown, "short", locale=speaker.locale)
        return f"{day} {clock} ({zone_label(value.instant, value.zone)})"
    return value


@pass_context
def spoken_filter(context: Context, error: ChapterhouseError) -> str:
    """A feature's refusal in the page's language, its numbers written the page's way."""
    speaker = _speaker(context)
    if speaker is None:
        return str(error)
    return error.spoken(speaker.translations.gettext, lambda value: written(speaker, value))


@pass_context
def measure_filter(context: Context, amount: Number, unit: str, metric: str) -> str:
    """``100 people`` (participants), ``300 kg litter`` (kg_litter): the amount in the page's
    numbers, with the unit and the metric's words as the organisers wrote them."""
    speaker = _speaker(context)
    if speaker is None:
        return measure_text(amount, unit, metric)
    words = [w for w in metric.replace("_", " ").split() if w.lower() != unit.lower()]
    if (metric.lower(), unit.lower()) in SAME_AS_UNIT:
        words = []
    return " ".join([number(speaker, amount), unit, *words])


@pass_context
def plural_filter(context: Context, count: Number, singular: str, many: str | None = None) -> str:
    """``{{ n | plural("follower") }}``: through ``ngettext`` (``%(num)s follower`` /
    ``%(num)s followers`` are msgids of the pages catalogue), so each language counts its own
    way."""
    speaker = _speaker(context)
    many = many or plural_of(singular)
    if speaker is None:
        return f"{number_text(count)} {singular if count == 1 else many}"
    # The msgids are built here, so extraction must not see this call (it would warn): the
    # templates that count write them out with ngettext, which puts them in the catalogue.
    counted = speaker.ngettext
    return counted(f"%(num)s {singular}", f"%(num)s {many}", int(count), num=number(speaker, count))


@pass_context
def datetime_filter(context: Context, value: datetime, zone: str | None = None) -> str:
    """A stored instant, in ``zone`` (a call's) or UTC, in the page's words, the zone named."""
    speaker = _speaker(context)
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    shown = in_zone(moment, zone) if zone else moment.astimezone(UTC)
    label = zone_label(moment, zone) if zone else "UTC"
    if speaker is None or speaker.code == SOURCE:
        return f"{shown.strftime('%Y-%m-%d %H:%M')} {label}"
    day = format_skeleton("yMMMd", shown, locale=speaker.locale)
    return f"{day} {format_time(shown, 'short', locale=speaker.locale)} {label}"


@pass_context
def date_filter(context: Context, value: datetime | date) -> str:
    speaker = _speaker(context)
    if speaker is None or speaker.code == SOURCE:
        return value.strftime("%Y-%m-%d")
    return format_date(value, "medium", locale=speaker.locale)


@pass_context
def summary_filter(
    context: Context, call: ActionCall | Mapping[str, Any] | None, fallback: str = ""
) -> str:
    speaker = _speaker(context)
    if not isinstance(call, ActionCall | Mapping):  # None, or a list that has no call
        return fallback
    if speaker is None:
        return summary_line(call) if isinstance(call, ActionCall) else str(call.get("summary", ""))
    return call_summary(speaker, call)


FILTERS = {
    "number": number_filter,
    "spoken": spoken_filter,
    "measure": measure_filter,
    "plural": plural_filter,
    "datetime": datetime_filter,
    "date": date_filter,
    "summary": summary_filter,
}
