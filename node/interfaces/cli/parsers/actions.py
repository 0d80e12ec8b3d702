"""``action create|update|cancel|restore|list|adopt`` (and, through attendance and polls,
``checkin``, ``checkin-code``, ``participants``, ``poll``): the arguments; the bodies are in
``node.interfaces.cli.actions``."""

from __future__ import annotations

import argparse

from node.interfaces.cli.args import Subparsers, data_arg, lazy
from node.interfaces.cli.parsers import attendance, polls
from node.interfaces.cli.words import N_

command = lazy("actions")

#: ``--clear NAME`` on update → the input field set to null (removed).
CLEARABLE = {
    "place": "place",
    "online-url": "online_url",
    "capacity": "capacity",
    "goal": "goal",
    "description": "description",
    "tags": "tags",
    "targets": "targets",
    "slots": "slots",
    "title-in": "titleMap",
    "description-in": "descriptionMap",
}

TIME_HELP = N_(
    "date and time: 2027-04-12T10:00 is local time in --timezone (else the call's, else the "
    "chapter's zone); 2027-04-12T10:00:00+01:00 is exact, and its offset must agree with "
    "--timezone if both are given"
)


def _call_options(p: argparse.ArgumentParser, *, creating: bool) -> None:
    """The fields of a call; all optional when updating (only those given change)."""
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument("--title", required=creating)
    p.add_argument("--start", required=creating, help=TIME_HELP)
    p.add_argument("--end", required=creating, help=N_("date and time, after --start (as --start)"))
    p.add_argument(
        "--timezone",
        metavar="ZONE",
        help=N_("IANA time zone the call is shown in, e.g. Europe/London (default: the chapter's)")
        if creating
        else N_(
            "IANA time zone the call is shown in, e.g. Europe/London (default: the chapter's); "
            "alone, it keeps the instants and shows them in ZONE"
        ),
    )
    p.add_argument("--place", help=N_("where people meet (its name)"))
    p.add_argument("--address", help=N_("street address of the place"))
    p.add_argument("--latitude", type=float, help=N_("the place's latitude (with --longitude)"))
    p.add_argument("--longitude", type=float, help=N_("the place's longitude (with --latitude)"))
    p.add_argument("--online-url", dest="online_url", help=N_("link for online actions"))
    p.add_argument("--capacity", type=int, help=N_("how many people can take part"))
    p.add_argument("--goal", help=N_("what the action is for, in one line"))
    p.add_argument("--description", help=N_("details (HTML is sanitised)"))
    p.add_argument(
        "--target",
        action="append",
        metavar="METRIC=AMOUNT:UNIT",
        help=N_("e.g. participants=50:people (repeatable)")
        if creating
        else N_(
            "e.g. participants=50:people (repeatable); adds or replaces that metric and unit, "
            "keeps the others"
        ),
    )
    p.add_argument(
        "--slot",
        action="append",
        metavar="START-END ROLE:CAPACITY",
        help=N_(
            "a shift or role, e.g. '10:00-12:00 litter pickers:10' (repeatable): times on the "
            "call's date in its zone (or full dates and times), within the call; the call's "
            "capacity is then the slots' sum"
        )
        if creating
        else N_(
            "a shift or role, e.g. '10:00-12:00 litter pickers:10' (repeatable): times on the "
            "call's date in its zone (or full dates and times), within the call; the call's "
            "capacity is then the slots' sum; replaces all the call's slots (same role and "
            "times: same id)"
        ),
    )
    p.add_argument(
        "--tag",
        action="append",
        help=N_("hashtag without # (repeatable)")
        if creating
        else N_("hashtag without # (repeatable); the call's hashtags become those given"),
    )
    p.add_argument(
        "--language",
        metavar="L",
        help=N_(
            "the language title and description are written in, a BCP 47 tag such as en or "
            "pt-BR (default: the chapter's first language, else the node's)"
        ),
    )
    translations_help = {
        (True, "--title-in"): N_(
            "the title in another language, e.g. --title-in fr '…' (repeatable)"
        ),
        (False, "--title-in"): N_(
            "the title in another language, e.g. --title-in fr '…' (repeatable); replaces all "
            "the call's translations of it"
        ),
        (True, "--description-in"): N_(
            "the description in another language, e.g. --description-in fr '…' (repeatable)"
        ),
        (False, "--description-in"): N_(
            "the description in another language, e.g. --description-in fr '…' (repeatable); "
            "replaces all the call's translations of it"
        ),
    }
    for flag in ("--title-in", "--description-in"):
        p.add_argument(
            flag,
            dest=flag.removeprefix("--").replace("-", "_"),
            nargs=2,
            action="append",
            metavar=("LANG", "TEXT"),
            help=translations_help[creating, flag],
        )
    if not creating:
        p.add_argument(
            "--remove-target",
            dest="remove_target",
            action="append",
            metavar="METRIC:UNIT",
            help=N_("remove that target, e.g. kg_litter:kg (repeatable)"),
        )
        p.add_argument(
            "--clear",
            action="append",
            choices=sorted([*CLEARABLE, "address", "coordinates"]),
            help=N_("remove that field from the call (repeatable)"),
        )
    p.add_argument("--json", action="store_true", help=N_("print the call as JSON"))


def register(sub: Subparsers) -> None:
    actions = sub.add_parser("action", help=N_("publish and manage action calls")).add_subparsers(
        dest="sub", required=True
    )
    p = actions.add_parser("create", help=N_("publish an action call (prints its id)"))
    _call_options(p, creating=True)
    p.add_argument("--chapter", required=True)
    p.add_argument(
        "--poll", action="store_true", help=N_("also publish its RSVP poll (see `action poll`)")
    )
    p.set_defaults(func=command("cmd_action_create"))

    p = actions.add_parser(
        "update",
        help=N_("edit an action call: only the options given change; followers get an Update"),
        description=N_(
            "Edit an action call: only the options given change (--place keeps the "
            "address, --target keeps the other targets); --clear removes a field. An update with "
            "nothing to change, or a --remove-target the call lacks, is an error (exit 1)."
        ),
    )
    p.add_argument("call_id", metavar="CALL_ID")
    _call_options(p, creating=False)
    p.set_defaults(func=command("cmd_action_update"))

    p = actions.add_parser(
        "cancel",
        help=N_("cancel an action call; followers and participants get its Update (cancelled)"),
    )
    p.add_argument("call_id", metavar="CALL_ID")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument("--reason", help=N_("why, in a sentence: participants see it (optional)"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=command("cmd_action_cancel"))

    p = actions.add_parser(
        "restore",
        help=N_("un-cancel an action call; participants keep their places"),
    )
    p.add_argument("call_id", metavar="CALL_ID")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=command("cmd_action_restore"))

    p = actions.add_parser("list", help=N_("list a chapter's action calls"))
    data_arg(p)
    p.add_argument("--chapter", required=True)
    p.add_argument("--json", action="store_true", help=N_("one JSON document on stdout"))
    p.set_defaults(func=command("cmd_action_list"))

    p = actions.add_parser(
        "adopt", help=N_("take up a campaign's call in a chapter (prints the new call's id)")
    )
    p.add_argument("call", metavar="CALL_URL")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument("--chapter", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=command("cmd_action_adopt"))

    attendance.register_action(actions)  # checkin, checkin-code
    polls.register_action(actions)  # poll
