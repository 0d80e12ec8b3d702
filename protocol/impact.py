"""Impact reports and campaign rollups, and the exact arithmetic of totals.

A report is a ``Note`` whose numbers live in ``chapterhouse:metrics`` (any fediverse app shows
the human sentence; Chapterhouse nodes read the numbers). Values are kept as ``Decimal`` so that
adding and later subtracting a report leaves totals exactly as they were.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Final

from protocol.errors import MalformedDocument, UnsupportedType
from protocol.events import validate_metric
from protocol.ids import parse_id, same_origin
from protocol.jsonld import CONTEXT, PUBLIC, as_list, id_of
from protocol.rollup_sources import MAX_SOURCES as MAX_SOURCES  # re-exported
from protocol.rollup_sources import Source as Source  # re-exported
from protocol.rollup_sources import SourcesLink, build_link, parse_link, parse_source
from protocol.timefmt import format_xsd_datetime, parse_xsd_datetime
from protocol.vocabulary import has_type

METHODS: Final = frozenset({"counted", "estimated", "self_reported"})
MAX_METRICS: Final = 64
MAX_VALUE: Final = Decimal("1e15")

MetricKey = tuple[str, str]  # (metric, unit)


@dataclass(frozen=True, slots=True)
class Measure:
    metric: str
    unit: str
    value: Decimal
    method: str = "counted"

    @property
    def key(self) -> MetricKey:
        return (self.metric, self.unit)


@dataclass(frozen=True, slots=True)
class ImpactReport:
    id: str
    chapter: str
    call: str
    measures: tuple[Measure, ...]
    published: datetime
    content: str = ""
    updated: datetime | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None

    @property
    def version(self) -> datetime:
        """Which copy is newest: a chapter's correction carries a later ``updated``."""
        return self.updated or self.published

    def values(self) -> dict[MetricKey, Decimal]:
        return {m.key: m.value for m in self.measures}


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A report the rollup leaves out, pinned by hash, and why: an organiser's reason, a block,
    or ``unit`` (then only the named measure is out, the rest of the report counts)."""

    report: str
    chapter: str
    sha256: str
    reason: str
    metric: str | None = None
    unit: str | None = None

    def as_json(self) -> dict[str, str]:
        doc = {"report": self.report, "chapter": self.chapter, "sha256": self.sha256}
        doc["reason"] = self.reason
        if self.metric is not None and self.unit is not None:
            doc["metric"], doc["unit"] = self.metric, self.unit
        return doc


UNIT_REASON: Final = "unit"


@dataclass(frozen=True, slots=True)
class Total:
    metric: str
    unit: str
    value: Decimal


@dataclass(frozen=True, slots=True)
class Rollup:
    id: str
    campaign: str
    rollup_of: tuple[str, ...]
    totals: tuple[Total, ...]
    sources: tuple[Source, ...]
    chapter_count: int
    updated: datetime | None
    exclusions: tuple[Exclusion, ...] = ()
    #: Where the sources are when the rollup only links to them (``sources`` is then empty
    #: until they are fetched: ``protocol/rollup_sources.py``).
    sources_link: SourcesLink | None = None


def json_number(value: Decimal) -> int | float:
    """Decimals leave as JSON numbers: integers when whole, shortest floats otherwise."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def to_decimal(value: object, what: str) -> Decimal:
    """A JSON number as an exact decimal (via its shortest text form); refuses anything else."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MalformedDocument(f"{what} must be finite")
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedDocument(f"{what} must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise MalformedDocument(f"{what} must be finite")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation as exc:
        raise MalformedDocument(f"{what} is not a number") from exc
    if number < 0:
        raise MalformedDocument(f"{what} must not be negative")
    if number > MAX_VALUE:
        raise MalformedDocument(f"{what} is implausibly large")
    return number


def is_report(doc: object) -> bool:
    """A ``Note`` (among its types: AS2 allows a list) naming the call it reports on."""
    return isinstance(doc, Mapping) and has_type(doc, "Note") and "chapterhouse:reportOf" in doc


def is_rollup(doc: object) -> bool:
    """A ``Note`` (among its types) naming the campaigns it rolls up."""
    return isinstance(doc, Mapping) and has_type(doc, "Note") and "chapterhouse:rollupOf" in doc


def build_report(report: ImpactReport, *, cc: Iterable[str] = ()) -> dict[str, object]:
    doc: dict[str, object] = {
        "@context": CONTEXT,
        "id": report.id,
        "type": "Note",
        "attributedTo": report.chapter,
        "inReplyTo": report.call,
        "content": report.content,
        "published": format_xsd_datetime(report.published),
        "to": [PUBLIC],
        "cc": list(cc),
        "chapterhouse:reportOf": report.call,
        "chapterhouse:metrics": [
            {"metric": m.metric, "unit": m.unit, "value": json_number(m.value), "method": m.method}
            for m in report.measures
        ],
    }
    if report.updated is not None:
        doc["updated"] = format_xsd_datetime(report.updated)
    if report.period_start is not None and report.period_end is not None:
        doc["chapterhouse:period"] = {
            "startTime": report.period_start.isoformat(timespec="seconds"),
            "endTime": report.period_end.isoformat(timespec="seconds"),
        }
    return doc


def parse_measures(value: object) -> tuple[Measure, ...]:
    items = as_list(value)
    if not items:
        raise MalformedDocument("a report needs at least one metric")
    if len(items) > MAX_METRICS:
        raise MalformedDocument(f"a report may carry at most {MAX_METRICS} metrics")
    out: list[Measure] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise MalformedDocument("each metric must be an object {metric, unit, value, method}")
        metric, unit, method = item.get("metric"), item.get("unit"), item.get("method", "counted")
        if not isinstance(metric, str) or not isinstance(unit, str) or not 0 < len(unit) <= 32:
            raise MalformedDocument("each metric needs a name and a unit (1-32 characters)")
        validate_metric(metric)
        if method not in METHODS:
            raise MalformedDocument(
                f"method of {metric} must be one of {', '.join(sorted(METHODS))}"
            )
        out.append(
            Measure(metric, unit, to_decimal(item.get("value"), f"value of {metric}"), str(method))
        )
    keys = [m.key for m in out]
    if len(set(keys)) != len(keys):
        raise MalformedDocument("each metric and unit may appear once in a report")
    return tuple(out)


def _time(doc: Mapping[str, object], key: str) -> datetime | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedDocument(f"{key} must be a date-time string")
    return parse_xsd_datetime(value)


def parse_report(doc: object, *, allow_http: bool = False) -> ImpactReport:
    """Validate a received impact report."""
    if not isinstance(doc, Mapping):
        raise MalformedDocument("report must be a JSON object")
    if not is_report(doc):
        raise UnsupportedType("not an impact report (a Note with chapterhouse:reportOf)")
    report_id = parse_id(doc.get("id"), allow_http=allow_http)
    chapter = parse_id(id_of(doc.get("attributedTo")), allow_http=allow_http)
    if not same_origin(report_id, chapter):
        raise MalformedDocument("report id is not on the origin of its chapter")
    call = parse_id(id_of(doc.get("chapterhouse:reportOf")), allow_http=allow_http)
    published = _time(doc, "published")
    if published is None:
        raise MalformedDocument("report has no published time")
    content = doc.get("content", "")
    period = doc.get("chapterhouse:period")
    start = end = None
    if isinstance(period, Mapping):
        start, end = _time(period, "startTime"), _time(period, "endTime")
    return ImpactReport(
        id=report_id,
        chapter=chapter,
        call=call,
        measures=parse_measures(doc.get("chapterhouse:metrics")),
        published=published,
        content=content if isinstance(content, str) else "",
        updated=_time(doc, "updated"),
        period_start=start,
        period_end=end,
    )


def add_values(
    totals: dict[MetricKey, Decimal], values: Mapping[MetricKey, Decimal], sign: int = 1
) -> None:
    """totals += sign * values, per metric and unit (units never mix)."""
    for key, value in values.items():
        totals[key] = totals.get(key, Decimal(0)) + sign * value


def delta(
    old: Mapping[MetricKey, Decimal] | None, new: Mapping[MetricKey, Decimal] | None
) -> dict[MetricKey, Decimal]:
    """What replacing ``old`` by ``new`` changes in a total (None = absent)."""
    change: dict[MetricKey, Decimal] = {}
    add_values(change, new or {})
    add_values(change, old or {}, -1)
    return {k: v for k, v in change.items() if v != 0 or (new is not None and k in new)}


def build_rollup(rollup: Rollup, *, content: str, cc: Iterable[str] = ()) -> dict[str, object]:
    doc: dict[str, object] = {
        "@context": CONTEXT,
        "id": rollup.id,
        "type": "Note",
        "attributedTo": rollup.campaign,
        "content": content,
        "to": [PUBLIC],
        "cc": list(cc),
        "chapterhouse:rollupOf": list(rollup.rollup_of),
        "chapterhouse:totals": [
            {"metric": t.metric, "unit": t.unit, "value": json_number(t.value)}
            for t in rollup.totals
        ],
        "chapterhouse:chapterCount": rollup.chapter_count,
        "chapterhouse:sources": (
            build_link(rollup.sources_link)
            if rollup.sources_link is not None
            else [s.as_json() for s in rollup.sources]
        ),
        "chapterhouse:exclusions": [e.as_json() for e in rollup.exclusions],
    }
    if rollup.updated is not None:
        doc["updated"] = format_xsd_datetime(rollup.updated)
        doc["published"] = format_xsd_datetime(rollup.updated)
    return doc


def parse_rollup(doc: object, *, allow_http: bool = False) -> Rollup:
    if not isinstance(doc, Mapping) or not is_rollup(doc):
        raise UnsupportedType("not a rollup (a Note with chapterhouse:rollupOf)")
    rollup_id = parse_id(doc.get("id"), allow_http=allow_http)
    campaign = parse_id(id_of(doc.get("attributedTo")), allow_http=allow_http)
    totals = []
    for item in as_list(doc.get("chapterhouse:totals")):
        if (
            not isinstance(item, Mapping)
            or not isinstance(item.get("metric"), str)
            or not isinstance(item.get("unit"), str)
        ):
            raise MalformedDocument("each total needs metric, unit and value")
        totals.append(
            Total(
                str(item["metric"]),
                str(item["unit"]),
                to_decimal(item.get("value"), f"total of {item['metric']}"),
            )
        )
    raw_sources = doc.get("chapterhouse:sources")
    link = None
    if isinstance(raw_sources, Mapping):  # paged: a link the proof pins (rollup_sources.py)
        link = parse_link(raw_sources, rollup_id, allow_http=allow_http)
        raw_sources = []
    raw_sources = as_list(raw_sources)
    if len(raw_sources) > MAX_SOURCES:
        raise MalformedDocument("too many sources")
    sources = [parse_source(item, allow_http=allow_http) for item in raw_sources]
    exclusions = [
        _parse_exclusion(item, allow_http)
        for item in as_list(doc.get("chapterhouse:exclusions"))[:MAX_SOURCES]
    ]
    count = doc.get("chapterhouse:chapterCount", 0)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise MalformedDocument("chapterCount must be a non-negative integer")
    rollup_of = tuple(r for r in (id_of(v) for v in as_list(doc.get("chapterhouse:rollupOf"))) if r)
    return Rollup(
        rollup_id,
        campaign,
        rollup_of,
        tuple(totals),
        tuple(sources),
        count,
        _time(doc, "updated"),
        tuple(exclusions),
        link,
    )


def _parse_exclusion(item: object, allow_http: bool) -> Exclusion:
    if not isinstance(item, Mapping):
        raise MalformedDocument(
            "each exclusion must be an object {report, chapter, sha256, reason}"
        )
    sha, reason = item.get("sha256"), item.get("reason")
    if not isinstance(sha, str) or len(sha) != 64 or not isinstance(reason, str):
        raise MalformedDocument("each exclusion needs the report's SHA-256 and a reason")
    metric, unit = item.get("metric"), item.get("unit")
    return Exclusion(
        parse_id(item.get("report"), allow_http=allow_http),
        parse_id(item.get("chapter"), allow_http=allow_http),
        sha,
        reason[:500],
        metric if isinstance(metric, str) else None,
        unit if isinstance(unit, str) else None,
    )


def sum_reports(reports: Iterable[ImpactReport]) -> tuple[Total, ...]:
    """Totals recomputed from scratch (what ``verify`` compares a rollup against)."""
    totals: dict[MetricKey, Decimal] = {}
    for report in reports:
        add_values(totals, report.values())
    return tuple(Total(m, u, v) for (m, u), v in sorted(totals.items()))
