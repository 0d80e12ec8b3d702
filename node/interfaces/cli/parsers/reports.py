"""``report create|update|retract`` and ``totals``: the arguments; the bodies are in
``node.interfaces.cli.reports``."""

from __future__ import annotations

from node.interfaces.cli.args import LazyCommand, Subparsers, data_arg, lazy
from node.interfaces.cli.words import N_

command = lazy("reports")


def register(sub: Subparsers) -> None:
    reports = sub.add_parser("report", help=N_("report what an action achieved")).add_subparsers(
        dest="sub", required=True
    )
    forms: tuple[tuple[str, LazyCommand, str], ...] = (
        (
            "create",
            command("cmd_report_create"),
            N_("report on an action call (prints the report's id)"),
        ),
        (
            "update",
            command("cmd_report_update"),
            N_("correct a report (the newest version counts)"),
        ),
        ("retract", command("cmd_report_retract"), N_("withdraw a report from every total")),
    )
    for name, func, help_text in forms:
        p = reports.add_parser(name, help=help_text)
        if name == "create":
            p.add_argument("--call", required=True, metavar="CALL_ID")
            p.add_argument(
                "--from-attendance",
                dest="from_attendance",
                action="store_true",
                help=N_("add participants=N:people (method counted): how many came, from check-in"),
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
                help=N_("e.g. participants=42:people (repeatable); an update keeps the others"),
            )
            p.add_argument(
                "--method", default="counted", help=N_("counted, estimated or self_reported")
            )
            p.add_argument("--text", help=N_("the human sentence followers see"))
        if name == "update":
            p.add_argument(
                "--remove-metric",
                dest="remove_metric",
                action="append",
                metavar="METRIC:UNIT",
                help=N_("take a metric out of the report, e.g. kg_litter:kg (repeatable)"),
            )
            p.add_argument(
                "--replace",
                action="store_true",
                help=N_("the --metric options are the whole new list (others are dropped)"),
            )
        p.set_defaults(func=func)

    p = sub.add_parser("totals", help=N_("a campaign's totals"))
    p.add_argument("campaign", metavar="CAMPAIGN")
    data_arg(p)
    p.add_argument("--json", action="store_true", help=N_("one JSON document on stdout"))
    p.set_defaults(func=command("cmd_totals"))
