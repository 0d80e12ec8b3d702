"""Organisers report what an action achieved; corrections and retractions follow the report.

Each version is signed (FEP-8b32) with the chapter's key, sent to the chapter's followers and
to the campaign the call belongs to, and counted here too when the campaign lives on this node.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.authz import NotFoundError, Principal, require_organiser
from node.features.calls.input import TARGET_TEXT as METRIC_TEXT
from node.features.calls.input import FieldError
from node.features.calls.lifecycle import call_from_row
from node.features.impact.aggregation import count_report, retract_report
from node.features.impact.chapter_sums import replace_values, stored_values
from node.features.impact.membership import campaigns_reached, counting_campaigns
from node.federation.outbox.audience import follower_inboxes
from node.federation.outbox.publish import publish
from node.federation.proofs import sign_object
from node.runtime.services import Services
from protocol.activities import build_create, build_delete, build_update
from protocol.errors import N_, MalformedDocument, WordedError
from protocol.impact import (
    MAX_METRICS,
    METHODS,
    ImpactReport,
    Measure,
    MetricKey,
    build_report,
    json_number,
    parse_measures,
    parse_report,
)
from protocol.proofs import jcs_sha256
from protocol.timefmt import format_xsd_datetime
from storage.models import ImpactReport as ReportRow
from storage.models import LocalActor
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo
from storage.repositories import impact as impact_repo


def parse_metric_args(values: Sequence[str], method: str) -> tuple[Measure, ...]:
    """``participants=42:people`` (the CLI form) → validated measures, exact (no float detour)."""
    if method not in METHODS:
        raise FieldError(
            "method", N_("must be one of {methods}"), methods=", ".join(sorted(METHODS))
        )
    if not values:
        raise FieldError("metrics", N_("give at least one metric, e.g. participants=42:people"))
    items: list[dict[str, object]] = []
    for text in values:
        match = METRIC_TEXT.match(text.strip())
        if match is None:
            raise FieldError(
                "metrics",
                N_("{text!r} must look like metric=value:unit, e.g. participants=42:people"),
                text=text,
            )
        try:
            value = Decimal(match["value"].strip())
        except InvalidOperation as exc:
            raise FieldError(
                "metrics", N_("value of {metric} is not a number"), metric=match["metric"]
            ) from exc
        items.append(
            {
                "metric": match["metric"].strip(),
                "unit": match["unit"].strip(),
                "value": value,
                "method": method,
            }
        )
    return metrics_from_json(items)


def metrics_from_json(items: object, field: str = "metrics") -> tuple[Measure, ...]:
    try:
        return parse_measures(items)
    except MalformedDocument as exc:
        raise FieldError.about(field, exc) from exc


def metric_lines(measures: Sequence[Measure]) -> str:
    """The measures as ``metric=value:unit`` lines, the form parse_metric_args reads back."""
    return "\n".join(f"{m.metric}={format(m.value, 'f')}:{m.unit}" for m in measures)


def _key_text(key: MetricKey) -> str:
    return f"{key[0]}:{key[1]}"


def parse_metric_keys(values: Sequence[str], field: str = "remove") -> tuple[MetricKey, ...]:
    """``participants:people`` (the CLI form of a metric to remove) → (metric, unit) keys."""
    keys: list[MetricKey] = []
    for text in values:
        metric, sep, unit = text.strip().partition(":")
        if not sep or not metric.strip() or not unit.strip():
            raise FieldError(
                field,
                N_("{text!r} must look like metric:unit, e.g. participants:people"),
                text=text,
            )
        key = (metric.strip(), unit.strip())
        if key not in keys:
            keys.append(key)
    return tuple(keys)


@dataclass(frozen=True, slots=True)
class MeasurePatch:
    """A correction of a report's numbers: ``set`` changes or adds metrics and keeps the others,
    ``remove`` takes metrics out, ``replace`` makes ``set`` the whole list instead."""

    set: tuple[Measure, ...] = ()
    remove: tuple[MetricKey, ...] = ()
    replace: bool = False

    def apply(self, current: Sequence[Measure]) -> tuple[Measure, ...]:
        if self.replace:
            if self.remove:
                raise FieldError(
                    "remove", N_("cannot be combined with replace (set is the new list)")
                )
            if not self.set:
                raise FieldError("set", N_("replace needs at least one metric to replace with"))
            return self.set
        measures = {m.key: m for m in current}
        setting = {m.key for m in self.set}
        for key in self.remove:
            if key in setting:
                raise FieldError(
                    "remove", N_("{metric} is both set and removed"), metric=_key_text(key)
                )
            if key not in measures:
                held = ", ".join(_key_text(k) for k in measures)
                raise FieldError(
                    "remove",
                    N_("the report has no metric {metric} (it has {held})"),
                    metric=_key_text(key),
                    held=held,
                )
            del measures[key]
        measures.update((m.key, m) for m in self.set)
        if not measures:
            raise FieldError(
                "remove",
                N_("a report keeps at least one metric (retract the report to withdraw it)"),
            )
        if len(measures) > MAX_METRICS:
            raise FieldError(
                "set", N_("a report may carry at most {count} metrics"), count=MAX_METRICS
            )
        return tuple(measures.values())


def _text_field(data: Mapping[str, object]) -> str | None:
    text = data.get("text")
    if text is not None and not isinstance(text, str):
        raise FieldError("text", N_("must be a string"))
    return (text.strip() or None) if text is not None else None


def _known_fields(data: Mapping[str, object], fields: tuple[str, ...]) -> None:
    for name in data:
        if name not in fields:
            raise FieldError(
                name,
                N_("is not a field here (the fields are {fields})"),
                fields=", ".join(fields),
            )


def report_input_from_json(data: Mapping[str, object]) -> tuple[tuple[Measure, ...], str | None]:
    """The JSON API's new report, ``{"metrics": [{metric, unit, value, method}], "text"}``."""
    _known_fields(data, ("metrics", "text"))
    if "metrics" not in data:
        raise FieldError("metrics", N_("give at least one metric {metric, unit, value, method}"))
    return metrics_from_json(data["metrics"]), _text_field(data)


def patch_from_json(data: Mapping[str, object]) -> tuple[MeasurePatch, str | None]:
    """The JSON API's correction: ``{"set": [measures], "remove": [{metric, unit}], "replace":
    bool, "text"}``; set and remove patch the numbers, replace makes set the whole list."""
    _known_fields(data, ("set", "remove", "replace", "text"))
    items = data.get("set")
    measures = metrics_from_json(items, "set") if items not in (None, []) else ()
    removing = data.get("remove") or []
    if not isinstance(removing, list):
        raise FieldError("remove", N_("must be a list of {metric, unit}"))
    keys: list[MetricKey] = []
    for item in removing:
        if (
            not isinstance(item, Mapping)
            or not isinstance(item.get("metric"), str)
            or not isinstance(item.get("unit"), str)
        ):
            raise FieldError("remove", N_("each item must be an object {metric, unit}"))
        keys.append((item["metric"], item["unit"]))
    replace = data.get("replace", False)
    if not isinstance(replace, bool):
        raise FieldError("replace", N_("must be true or false"))
    return MeasurePatch(measures, tuple(dict.fromkeys(keys)), replace), _text_field(data)


def report_json(row: ReportRow, *, allow_http: bool) -> dict[str, object]:
    """A report as the JSON API shows it (its newest version)."""
    report = parse_report(row.document, allow_http=allow_http)
    return {
        "id": row.ap_id,
        "chapter": report.chapter,
        "call": report.call,
        "metrics": [
            {"metric": m.metric, "unit": m.unit, "value": json_number(m.value), "method": m.method}
            for m in report.measures
        ],
        "text": report.content,
        "published": format_xsd_datetime(report.published),
        "updated": format_xsd_datetime(report.updated) if report.updated else None,
        "retracted": row.retracted,
    }


class ReportExists(WordedError):
    """The call already has a live report of this node: that one is to be corrected instead
    (worded for the catalogues, the call and the report as its params)."""

    def __init__(self, call: str, report: str) -> None:
        super().__init__(
            N_("{call} already has a live report, {report}: correct that one instead"),
            call=call,
            report=report,
        )
        self.call = call
        self.report = report


async def _campaign_inboxes(
    session: AsyncSession, services: Services, call_doc: dict[str, object]
) -> set[str]:
    """The inbox of the campaign a call was adopted from (reports go there as well)."""
    link = call_doc.get("chapterhouse:campaign")
    if not isinstance(link, str):
        return set()
    campaign_call = await action_repo.call_by_ap_id(session, link)
    if campaign_call is None:
        return set()
    cached = await actor_repo.remote_actor(session, campaign_call.chapter)
    return {cached.shared_inbox or cached.inbox} if cached is not None else set()


async def _publish_version(
    session: AsyncSession,
    services: Services,
    chapter: LocalActor,
    report: ImpactReport,
    call_doc: dict[str, object],
    *,
    creating: bool,
) -> ReportRow:
    campaign_inboxes = await _campaign_inboxes(session, services, call_doc)
    campaign_ids = [c for c in [call_doc.get("chapterhouse:campaign")] if isinstance(c, str)]
    cc = [services.ids.actor_part(chapter.name, "followers")]
    doc = sign_object(services, chapter, build_report(report, cc=cc))
    sha = jcs_sha256(doc)
    row = await impact_repo.report(session, report.id)
    now = services.clock.now()
    old_values = stored_values(row.document) if row is not None and not row.retracted else {}
    await replace_values(session, chapter.ap_id, old_values, report.values())
    if row is None:
        row = ReportRow(
            ap_id=report.id,
            chapter=chapter.ap_id,
            call=report.call,
            local_actor_id=chapter.id,
            document=doc,
            version=report.version,
            retracted=False,
            sha256=sha,
            received_at=now,
        )
        session.add(row)
    else:
        row.document, row.version, row.sha256 = doc, report.version, sha
    build = build_create if creating else build_update
    activity = build(services.activity_id(), chapter.ap_id, doc)
    if campaign_ids:
        activity["cc"] = [*cc, *campaign_ids]
    inboxes = await follower_inboxes(session, services, chapter) | campaign_inboxes
    await publish(session, services, chapter, activity, inboxes)
    for campaign in await counting_campaigns(session, report.chapter, report.call):
        await count_report(session, campaign, report, sha, chapter.ap_id, now)
    return row


async def create_report(
    services: Services,
    who: Principal,
    call_id: str,
    measures: tuple[Measure, ...],
    text: str | None,
) -> ReportRow:
    """One live report per call: while one stands, it is corrected, not reported again."""
    now = services.clock.now()
    async with services.db.write() as session:
        # The call's row is locked, so two reports at once still leave one live report.
        call_row = await action_repo.call_by_ap_id(session, call_id, for_update=True)
        if call_row is None or call_row.local_actor_id is None:
            raise NotFoundError(N_("no action call {call} on this node"), call=call_id)
        chapter = await session.get(LocalActor, call_row.local_actor_id)
        assert chapter is not None
        await require_organiser(session, who, chapter)
        if call_row.start_time > now:
            raise FieldError(
                "call",
                N_("starts {start}: report its impact once it has started"),
                start=call_row.start_time.isoformat(),
            )
        live = await impact_repo.local_live_reports_of_call(session, call_row.ap_id)
        if live:
            raise ReportExists(call_row.ap_id, live[-1].ap_id)
        call = call_from_row(call_row, services)
        summary = ", ".join(f"{m.value} {m.unit} ({m.metric.replace('_', ' ')})" for m in measures)
        report = ImpactReport(
            id=services.ids.actor_part(chapter.name, f"reports/{services.new_id()}"),
            chapter=chapter.ap_id,
            call=call.id,
            measures=measures,
            published=now,
            content=text or f"{call.title}: {summary}.",
            period_start=call.start,
            period_end=call.end,
        )
        row = await _publish_version(
            session, services, chapter, report, call_row.document, creating=True
        )
    services.wakeups.deliveries.set()
    return row


async def _own_report(
    session: AsyncSession, who: Principal, report_id: str
) -> tuple[ReportRow, LocalActor]:
    row = await impact_repo.report(session, report_id)
    if row is None or row.local_actor_id is None:
        raise NotFoundError(N_("no report {report} on this node"), report=report_id)
    chapter = await session.get(LocalActor, row.local_actor_id)
    assert chapter is not None
    await require_organiser(session, who, chapter)
    if row.retracted:
        raise FieldError("report", N_("the report was retracted"))
    return row, chapter


async def update_report(
    services: Services,
    who: Principal,
    report_id: str,
    change: MeasurePatch | tuple[Measure, ...] | None,
    text: str | None,
) -> ReportRow:
    """A new version of the report; ``change`` patches its numbers (a plain tuple of measures
    replaces them all, None keeps them) and ``text``, when given, replaces the sentence."""
    if not isinstance(change, MeasurePatch):
        change = MeasurePatch(set=change, replace=True) if change else MeasurePatch()
    async with services.db.write() as session:
        row, chapter = await _own_report(session, who, report_id)
        current = parse_report(row.document, allow_http=services.settings.allow_http)
        version = max(services.clock.now(), current.version)
        report = dataclasses.replace(
            current,
            measures=change.apply(current.measures),
            content=text if text is not None else current.content,
            updated=version,
        )
        call_row = await action_repo.call_by_ap_id(session, current.call)
        assert call_row is not None
        row = await _publish_version(
            session, services, chapter, report, call_row.document, creating=False
        )
    services.wakeups.deliveries.set()
    return row


async def retract_own_report(services: Services, who: Principal, report_id: str) -> ReportRow:
    now = services.clock.now()
    async with services.db.write() as session:
        row, chapter = await _own_report(session, who, report_id)
        row.retracted = True
        await replace_values(session, row.chapter, stored_values(row.document), {})
        call_row = await action_repo.call_by_ap_id(session, row.call)
        inboxes = await follower_inboxes(session, services, chapter)
        if call_row is not None:
            inboxes |= await _campaign_inboxes(session, services, call_row.document)
        delete = build_delete(
            services.activity_id(),
            chapter.ap_id,
            row.ap_id,
            "Note",
            deleted=format_xsd_datetime(now),
        )
        await publish(session, services, chapter, delete, inboxes)
        for campaign in await campaigns_reached(session, row.call):
            await retract_report(session, campaign, row.ap_id, chapter.ap_id, now)
    services.wakeups.deliveries.set()
    return row
