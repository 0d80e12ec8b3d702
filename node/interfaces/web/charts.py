"""Charts as server-rendered SVG: progress against targets, and each metric over time.

No JavaScript: every chart is an ``<svg role="img">`` named by its ``<title>`` and ``<desc>``,
with the numbers it draws also given as a table (in a ``<details>``) for screen readers and for
anyone who wants them exact. The SVGs have a ``viewBox`` and ``width="100%"``, so they shrink to
a phone's width; their coordinate space is narrow (360 units) so that the labels stay readable
when they do.

The time chart's x axis is proportional to time (a rollup a week after the last one sits a week
further along), labelled with dates and times in the campaign's zone; its y axis starts at 0 and
has "nice" ticks (1, 2, 2.5 or 5 times a power of ten).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_skeleton, format_time

from node.interfaces.web.language import ENGLISH, PageLanguage
from node.interfaces.web.localise import number as local_number
from protocol.errors import MalformedDocument
from protocol.timefmt import parse_xsd_datetime

WIDTH, BAR_HEIGHT, GAP = 360, 22, 12
INK, TRACK, ACCENT = "#1d2a24", "#e3ece7", "#1f6f4a"
GRID = "#c9d6cf"

# The time chart's frame, in viewBox units.
HEIGHT = 230
LEFT, RIGHT, TOP, BOTTOM = 46, 14, 22, 44
FONT = 12
MAX_X_TICKS = 5
Y_TICKS = 4
MAX_DOTS = 60  # past this many samples the line alone is drawn


def progress_bars(
    rows: Sequence[tuple[str, float, float | None]], t: PageLanguage = ENGLISH
) -> str:
    """One bar per metric: value against target (or against the largest value), in ``t``'s
    words and numbers."""
    if not rows:
        return ""
    scale = max([t or v for _, v, t in rows] + [1.0])
    height = len(rows) * (BAR_HEIGHT + GAP + 16)
    named = escape(t.gettext("Totals against targets"))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" class="bars" aria-label="{named}">'
    ]
    y = 0
    for label, value, target in rows:
        full = WIDTH * (min(value, target) / target if target else value / scale)
        caption = (
            t.gettext(
                "%(label)s: %(value)s of %(target)s",
                label=label,
                value=_number(t, value),
                target=_number(t, target),
            )
            if target
            else t.gettext("%(label)s: %(value)s", label=label, value=_number(t, value))
        )
        parts.append(
            f'<text x="0" y="{y + 12}" font-size="{FONT}" fill="{INK}">{escape(caption)}</text>'
        )
        parts.append(
            f'<rect x="0" y="{y + 16}" width="{WIDTH}" height="{BAR_HEIGHT}" rx="4" fill="{TRACK}"/>'
        )
        parts.append(
            f'<rect x="0" y="{y + 16}" width="{full:.1f}" height="{BAR_HEIGHT}" rx="4" fill="{ACCENT}"/>'
        )
        y += BAR_HEIGHT + GAP + 16
    parts.append("</svg>")
    return "".join(parts)


# -- numbers --------------------------------------------------------------------------------------
def number_text(value: float) -> str:
    """A value as people write it: ``42``, ``120.5``, ``1,500`` (no ``42.0``, no ``1e+03``)."""
    rounded = round(value, 9)
    if rounded == int(rounded):
        return f"{int(rounded):,}"
    return f"{rounded:,.9f}".rstrip("0").rstrip(".")


def _number(t: PageLanguage, value: float) -> str:
    return number_text(value) if t.code == "en" else local_number(t, round(value, 9))


def short_number(value: float) -> str:
    """An axis label that fits the margin: ``950``, ``12k``, ``2.5M``."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e4, "k")):
        if abs(value) >= size:
            return f"{number_text(value / size)}{suffix}"
    return number_text(value)


def nice_ticks(top: float, count: int = Y_TICKS) -> list[float]:
    """Ticks from 0 to at least ``top``, about ``count`` steps of 1, 2, 2.5 or 5 times a power of ten."""
    if not math.isfinite(top) or top <= 0:
        top = 1.0
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    steps = math.ceil(top / step - 1e-9)
    return [round(i * step, 9) for i in range(steps + 1)]


# -- time -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Step:
    """A tick interval: a fixed length below a month, else a number of calendar months."""

    length: timedelta | None
    months: int = 0


_STEPS = (
    [_Step(timedelta(minutes=m)) for m in (1, 2, 5, 10, 15, 30)]
    + [_Step(timedelta(hours=h)) for h in (1, 2, 3, 6, 12)]
    + [_Step(timedelta(days=d)) for d in (1, 2, 7, 14)]
    + [_Step(None, m) for m in (1, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200)]
)


def _approx(step: _Step) -> float:
    return step.length.total_seconds() if step.length else step.months * 30.44 * 86400


def _first_tick(start: datetime, step: _Step) -> datetime:
    """The first aligned local time at or before ``start`` (``start`` is local)."""
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if step.length is None:
        month = (start.year * 12 + start.month - 1) // step.months * step.months
        return midnight.replace(year=month // 12, month=month % 12 + 1, day=1)
    if step.length >= timedelta(days=1):
        return midnight
    into_day = start - midnight
    return midnight + step.length * (into_day // step.length)


def _next_tick(tick: datetime, step: _Step) -> datetime:
    if step.length is not None:
        return tick + step.length  # wall-clock arithmetic in the zone
    month = tick.year * 12 + tick.month - 1 + step.months
    return tick.replace(year=month // 12, month=month % 12 + 1)


def _ticks(start: datetime, end: datetime, zone: ZoneInfo, step: _Step) -> list[datetime]:
    tick = _first_tick(start.astimezone(zone), step)
    ticks: list[datetime] = []
    while tick <= end and len(ticks) <= MAX_X_TICKS:
        if tick >= start:
            ticks.append(tick)
        tick = _next_tick(tick, step)
    return ticks


def time_ticks(start: datetime, end: datetime, zone: ZoneInfo) -> tuple[list[datetime], _Step]:
    """Aligned local times within [start, end]: as many as fit, at most MAX_X_TICKS."""
    span = (end - start).total_seconds()
    for step in _STEPS:
        if span / _approx(step) <= MAX_X_TICKS + 1:
            ticks = _ticks(start, end, zone, step)
            if len(ticks) <= MAX_X_TICKS:
                return ticks, step
    return _ticks(start, end, zone, _STEPS[-1])[:MAX_X_TICKS], _STEPS[-1]


def _day(when: datetime) -> str:
    return f"{when.day} {when:%b}"


def _local_day(when: datetime, t: PageLanguage) -> str:
    return _day(when) if t.code == "en" else format_skeleton("MMMd", when, locale=t.locale)


def when_text(when: datetime, zone: ZoneInfo, t: PageLanguage = ENGLISH) -> str:
    """A moment in words, in ``zone``: ``12 Jul 2027, 14:05`` (``12 juil. 2027, 14:05``)."""
    local = when.astimezone(zone)
    if t.code == "en":
        return f"{_day(local)} {local.year}, {local:%H:%M}"
    day = format_skeleton("yMMMd", local, locale=t.locale)
    return f"{day}, {format_time(local, 'short', locale=t.locale)}"


def _tick_labels(
    ticks: Sequence[datetime], step: _Step, t: PageLanguage = ENGLISH
) -> list[tuple[str, str]]:
    """Two lines per tick; the second only where it changes (the date, or the year)."""
    labels, previous = [], ""
    for tick in ticks:
        if step.length is not None and step.length < timedelta(days=1):
            first, second = f"{tick:%H:%M}", f"{_local_day(tick, t)} {tick.year}"
        elif step.length is not None:
            first, second = _local_day(tick, t), str(tick.year)
        else:
            month = (
                f"{tick:%b}" if t.code == "en" else format_skeleton("MMM", tick, locale=t.locale)
            )
            first, second = month, str(tick.year)
        labels.append((first, "" if second == previous else second))
        previous = second
    return labels


# -- a metric over time ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Series:
    """One metric's totals over time (aware UTC instants, oldest first)."""

    metric: str
    unit: str
    points: tuple[tuple[datetime, float], ...]


def series_from_history(history: Iterable[Mapping[str, Any]]) -> list[Series]:
    """One series per (metric, unit) in the campaign's snapshots, by metric name.

    A snapshot that does not list a metric counted nothing for it (totals of zero are left out
    of the listing), so the series has 0 there."""
    snapshots: list[tuple[datetime, dict[tuple[str, str], float]]] = []
    for snapshot in history:
        try:
            at = parse_xsd_datetime(str(snapshot["at"]))
        except (KeyError, MalformedDocument):
            continue
        values = {
            (str(t["metric"]), str(t["unit"])): float(str(t["value"]))
            for t in snapshot.get("totals") or []
        }
        snapshots.append((at, values))
    snapshots.sort(key=lambda s: s[0])
    keys = sorted({key for _, values in snapshots for key in values})
    return [
        Series(
            metric, unit, tuple((at, values.get((metric, unit), 0.0)) for at, values in snapshots)
        )
        for metric, unit in keys
    ]


def zone_named(name: str | None) -> ZoneInfo:
    """The IANA zone ``name``, or UTC when there is none (or it is unknown here)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "metric"


def time_chart(series: Series, zone: ZoneInfo, *, key: str, t: PageLanguage = ENGLISH) -> str:
    """A figure: the metric's line over time (SVG), a caption, and its numbers as a table.

    ``key`` makes the element ids unique on the page."""
    if not series.points:
        return ""
    base = f"chart-{_slug(key)}"
    times = [at for at, _ in series.points]
    values = [v for _, v in series.points]
    start, end = times[0], times[-1]
    if end <= start:  # one sample (or all at once): an hour either side, the point centred
        start, end = start - timedelta(hours=1), end + timedelta(hours=1)
    span = (end - start).total_seconds()
    y_ticks = nice_ticks(max(values))
    top = y_ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bottom = TOP + plot_h

    def x_of(at: datetime) -> float:
        return LEFT + (at - start).total_seconds() / span * plot_w

    def y_of(value: float) -> float:
        return bottom - max(value, 0.0) / top * plot_h

    name = f"{series.metric} ({series.unit})"
    title = t.gettext("%(name)s over time", name=name)
    desc = _description(series, zone, t)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" class="time-chart" data-metric="{escape(series.metric)}" '
        f'aria-labelledby="{base}-title {base}-desc">',
        f'<title id="{base}-title">{escape(title)}</title>',
        f'<desc id="{base}-desc">{escape(desc)}</desc>',
        f'<text x="{LEFT}" y="{TOP - 8}" font-size="{FONT}" fill="{INK}" class="y-unit">'
        f"{escape(series.unit)}</text>",
    ]
    for tick in y_ticks:
        y = y_of(tick)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID}" '
            'stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="{FONT}" fill="{INK}" '
            f'text-anchor="end" class="y-tick">{escape(short_number(tick))}</text>'
        )
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="{INK}" stroke-width="1"/>'
        f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" stroke="{INK}" '
        'stroke-width="1"/>'
    )
    ticks, step = time_ticks(start, end, zone)
    for at, (first, second) in zip(ticks, _tick_labels(ticks, step, t), strict=True):
        x = x_of(at)
        anchor = "start" if x < LEFT + 20 else "end" if x > WIDTH - RIGHT - 20 else "middle"
        parts.append(
            f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 5}" stroke="{INK}"/>'
            f'<text x="{x:.1f}" y="{bottom + 18}" font-size="{FONT}" fill="{INK}" '
            f'text-anchor="{anchor}" class="x-tick">{escape(first)}'
            + (f'<tspan x="{x:.1f}" dy="14">{escape(second)}</tspan>' if second else "")
            + "</text>"
        )
    points = " ".join(f"{x_of(at):.2f},{y_of(v):.2f}" for at, v in series.points)
    parts.append(
        f'<polyline fill="none" stroke="{ACCENT}" stroke-width="2.5" stroke-linejoin="round" '
        f'points="{points}"/>'
    )
    if len(series.points) <= MAX_DOTS:
        parts.extend(
            f'<circle cx="{x_of(at):.2f}" cy="{y_of(v):.2f}" r="3.5" fill="{ACCENT}"/>'
            for at, v in series.points
        )
    parts.append("</svg>")
    rows = "".join(
        f'<tr><td><time datetime="{at.isoformat()}">{escape(when_text(at, zone, t))}</time></td>'
        f"<td>{escape(_number(t, v))}</td></tr>"
        for at, v in series.points
    )
    caption = t.gettext("%(title)s. Times in %(zone)s.", title=title, zone=zone.key)
    numbers = t.gettext("The numbers: %(name)s", name=name)
    when_header = t.gettext("When (%(zone)s)", zone=zone.key)
    return (
        f'<figure class="chart" id="{base}">'
        + "".join(parts)
        + f"<figcaption>{escape(caption)}</figcaption>"
        + f"<details><summary>{escape(numbers)}</summary>"
        + '<div class="table-wrap">'
        + f"<table><caption>{escape(title)}</caption><thead><tr>"
        + f'<th scope="col">{escape(when_header)}</th>'
        + f'<th scope="col">{escape(series.unit)}</th>'
        + f"</tr></thead><tbody>{rows}</tbody></table></div></details></figure>"
    )


def _description(series: Series, zone: ZoneInfo, t: PageLanguage = ENGLISH) -> str:
    """What the chart shows, in a sentence: where it starts, ends and peaks."""
    (first_at, first), (last_at, last) = series.points[0], series.points[-1]
    peak_at, peak = max(series.points, key=lambda p: p[1])
    text = t.ngettext(
        "%(num)s total of %(metric)s in %(unit)s, from %(first)s on %(first_at)s "
        "to %(last)s on %(last_at)s",
        "%(num)s totals of %(metric)s in %(unit)s, from %(first)s on %(first_at)s "
        "to %(last)s on %(last_at)s",
        len(series.points),
        metric=series.metric,
        unit=series.unit,
        first=_number(t, first),
        first_at=when_text(first_at, zone, t),
        last=_number(t, last),
        last_at=when_text(last_at, zone, t),
    )
    if peak > max(first, last):
        text += t.gettext(
            "; highest %(peak)s on %(when)s",
            peak=_number(t, peak),
            when=when_text(peak_at, zone, t),
        )
    return t.gettext("%(text)s. Times in %(zone)s.", text=text, zone=zone.key)


def metric_charts(
    history: Iterable[Mapping[str, Any]], zone: ZoneInfo, t: PageLanguage = ENGLISH
) -> list[str]:
    """One time chart per metric of a campaign's totals history, in ``t``'s words."""
    return [
        time_chart(series, zone, key=f"{i}-{series.metric}-{series.unit}", t=t)
        for i, series in enumerate(series_from_history(history))
    ]
