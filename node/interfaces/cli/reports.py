"""``report create|update|retract`` and ``totals``: what actions achieved, and what a campaign's
chapters achieved together."""

from __future__ import annotations

import argparse
import json

from node.features.impact.campaigns import campaign_totals
from node.features.impact.reports import (
    create_report,
    parse_metric_args,
    retract_own_report,
    update_report,
)
from node.interfaces.cli.base import Command, Subparsers, data_arg, out, principal, with_services
from node.runtime.services import Services


@with_services
async def cmd_report_create(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    measures = parse_metric_args(args.metric or [], args.method)
    row = await create_report(services, who, args.call, measures, args.text)
    out(row.ap_id)
    return 0


@with_services
async def cmd_report_update(args: argparse.Namespace, services: Services) -> int:
    """Without ``--metric`` the measures stay as they were (only the text changes)."""
    who = await principal(services, args.as_name)
    measures = parse_metric_args(args.metric, args.method) if args.metric else None
    row = await update_report(services, who, args.report_id, measures, args.text)
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
        else:
            p.add_argument("report_id", metavar="REPORT_ID")
        data_arg(p)
        p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
        if name != "retract":
            p.add_argument(
                "--metric",
                action="append",
                metavar="METRIC=VALUE:UNIT",
                help="e.g. participants=42:people (repeatable)",
            )
            p.add_argument(
                "--method", default="counted", help="counted, estimated or self_reported"
            )
            p.add_argument("--text", help="the human sentence followers see")
        p.set_defaults(func=func)

    p = sub.add_parser("totals", help="a campaign's totals")
    p.add_argument("campaign", metavar="CAMPAIGN")
    data_arg(p)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=cmd_totals)
