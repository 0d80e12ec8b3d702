"""``campaign create|members|approve|exclude|include``: the arguments; the bodies are in
``node.interfaces.cli.campaigns``."""

from __future__ import annotations

from node.interfaces.cli.args import Subparsers, data_arg, lazy
from node.interfaces.cli.words import N_

command = lazy("campaigns")


def register(sub: Subparsers) -> None:
    campaign = sub.add_parser("campaign", help=N_("manage campaigns")).add_subparsers(
        dest="sub", required=True
    )
    p = campaign.add_parser("create", help=N_("create a campaign (prints its actor id)"))
    p.add_argument("name")
    data_arg(p)
    p.add_argument("--title")
    p.add_argument("--summary")
    p.add_argument(
        "--approve-chapters",
        action="store_true",
        help=N_("hold chapters that join as pending until an organiser approves them"),
    )
    p.set_defaults(func=command("cmd_campaign_create"))

    p = campaign.add_parser("members", help=N_("the chapters of a campaign and their state"))
    p.add_argument("campaign", metavar="CAMPAIGN")
    data_arg(p)
    p.add_argument("--json", action="store_true", help=N_('{"members": [{"chapter", "state"}]}'))
    p.set_defaults(func=command("cmd_campaign_members"))

    p = campaign.add_parser("approve", help=N_("accept a chapter that asked to join"))
    p.add_argument("campaign", metavar="CAMPAIGN")
    p.add_argument("chapter", metavar="CHAPTER_IRI")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.set_defaults(func=command("cmd_campaign_approve"))

    for name, func, what in (
        (
            "exclude",
            command("cmd_campaign_exclude"),
            N_("leave a report or a chapter out of the totals"),
        ),
        (
            "include",
            command("cmd_campaign_include"),
            N_("count an excluded report or chapter again"),
        ),
    ):
        p = campaign.add_parser(name, help=what)
        p.add_argument("campaign", metavar="CAMPAIGN")
        p.add_argument("iri", metavar="REPORT_OR_CHAPTER_IRI")
        data_arg(p)
        p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
        p.add_argument("--reason", help=N_("why (published in the signed rollup)"))
        p.set_defaults(func=func)
