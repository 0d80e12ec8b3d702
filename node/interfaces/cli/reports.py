"""``report create|update|retract`` and ``totals``: what actions achieved, and what a campaign's
chapters achieved together."""

from __future__ import annotations

import argparse
import json

from node.features.calls.attendance import attendance_measure
from node.features.impact.campaigns import campaign_totals
from node.features.impact.reports import (
    MeasurePatch,
    ReportExists,
    create_report,
    parse_metric_args,
    parse_metric_keys,
    retract_own_report,
    update_report,
)
from node.interfaces.cli.base import (
    CommandError,
    out,
    principal,
    with_services,
)
from node.interfaces.cli.words import _
from node.runtime.services import Services


@with_services
async def cmd_report_create(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    measures = parse_metric_args(args.metric or [], args.method) if args.metric else ()
    if args.from_attendance:  # participants=N:people, counted, from the check-ins
        counted = await attendance_measure(services, who, args.call)
        if any(m.key == counted.key for m in measures):
            raise CommandError(_("give participants either with --metric or --from-attendance"))
        measures = (*measures, counted)
    elif not measures:
        measures = parse_metric_args([], args.method)  # says what to give
    try:
        row = await create_report(services, who, args.call, measures, args.text)
    except ReportExists as exc:
        raise CommandError(
            _(
                "{call} already has a live report: {report}; correct it with "
                "`chapterhouse report update {report}` (one live report per call)"
            ).format(call=exc.call, report=exc.report)
        ) from exc
    out(row.ap_id)
    return 0


@with_services
async def cmd_report_update(args: argparse.Namespace, services: Services) -> int:
    """A patch: ``--metric`` changes or adds those metrics and keeps the others,
    ``--remove-metric`` takes one out, ``--replace`` makes the ``--metric``s the whole list.
    With none of them the numbers stay as they were (only the text changes)."""
    who = await principal(services, args.as_name)
    if args.replace and not args.metric:
        raise CommandError(
            _("--replace needs the new list: one or more --metric METRIC=VALUE:UNIT")
        )
    if args.replace and args.remove_metric:
        raise CommandError(_("--remove-metric cannot be combined with --replace"))
    patch = MeasurePatch(
        set=parse_metric_args(args.metric, args.method) if args.metric else (),
        remove=parse_metric_keys(args.remove_metric or []),
        replace=args.replace,
    )
    row = await update_report(services, who, args.report_id, patch, args.text)
    out(row.ap_id)
    return 0


@with_services
async def cmd_report_retract(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    row = await retract_own_report(services, who, args.report_id)
    out(f"{row.ap_id} retracted")
    return 0


@with_services
async def cmd_totals(args: argparse.Namespace, services: Services) -> int:
    """A heading line, then one tab-separated line per metric (or one JSON document)."""
    result = await campaign_totals(services, args.campaign)
    if args.json:
        out(json.dumps(result.summary()))
    else:
        out(f"{result.campaign}: {result.chapter_count} chapters")
        for total in result.totals:
            out(f"{total['metric']}\t{total['value']}\t{total['unit']}")
    return 0
