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
    Command,
    CommandError,
    Subparsers,
    data_arg,
    out,
    principal,
    with_services,
)
from node.runtime.services import Services


@with_services
async def cmd_report_create(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    measures = parse_metric_args(args.metric or [], args.method) if args.metric else ()
    if args.from_attendance:  # participants=N:people, counted, from the check-ins
        counted = await attendance_measure(services, who, args.call)
        if any(m.key == counted.key for m in measures):
            raise CommandError("give participants either with --metric or --from-attendance")
        measures = (*measures, counted)
    elif not measures:
        measures = parse_metric_args([], args.method)  # says what to give
    try:
        row = await create_report(services, who, args.call, measures, args.text)
    except ReportExists as exc:
        raise CommandError(
            f"{exc.call} already has a live report: {exc.report}; correct it with "
            f"`chapterhouse report update {exc.report}` (one live report per call)"
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
        raise CommandError("--replace needs the new list: one or more --metric METRIC=VALUE:UNIT")
    if args.replace and args.remove_metric:
        raise CommandError("--remove-metric cannot be combined with --replace")
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


def register(sub: Subparsers) -> None:
    reports = sub.add_parser("report", help="report what an action achieved").add_subparsers(
        dest="sub", required=True
    )
    forms: tuple[tuple[str, Command, str], ...] = (
        ("create", cmd_report_create, "report on an action call (prints the report's id)"),
        ("update", cmd_report_update, "correct a report (the newest version counts)"),
        ("retract", cmd_report_retract, "withdraw a report from every total"),
    )
    for name, func, help_text in forms:
        p = reports.add_parser(name, help=help_text)
        if name == "create":
            p.add_argument("--call", required=True, metavar="CALL_ID")
            p.add_argument(
                "--from-attendance",
                dest="from_attendance",
                action="store_true",
                help="add participants=N:people (method counted): how many came, from check-in",
            )
        else:
            p.add_argument("report_id", metavar="REPORT_ID")
        data_arg(p)
        p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
        if name != "retract":
            p.add_argument(
                "--metric",
                action="append",
                metavar="METRIC=VALUE:UNIT",
                help="e.g. participants=42:people (repeatable); an update keeps the others",
            )
            p.add_argument(
                "--method", default="counted", help="counted, estimated or self_reported"
            )
            p.add_argument("--text", help="the human sentence followers see")
        if name == "update":
            p.add_argument(
                "--remove-metric",
                dest="remove_metric",
                action="append",
                metavar="METRIC:UNIT",
                help="take a metric out of the report, e.g. kg_litter:kg (repeatable)",
            )
            p.add_argument(
                "--replace",
                action="store_true",
                help="the --metric options are the whole new list (others are dropped)",
            )
        p.set_defaults(func=func)

    p = sub.add_parser("totals", help="a campaign's totals")
    p.add_argument("campaign", metavar="CAMPAIGN")
    data_arg(p)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=cmd_totals)
