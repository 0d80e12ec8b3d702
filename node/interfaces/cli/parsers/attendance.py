"""``action checkin``, ``action checkin-code`` and ``action participants``: the arguments; the
bodies are in ``node.interfaces.cli.attendance``."""

from __future__ import annotations

from node.interfaces.cli.args import IntermixedParser, Subparsers, data_arg, lazy
from node.interfaces.cli.words import N_

command = lazy("attendance")


def register_action(actions: Subparsers) -> None:
    """The two commands, in the ``action`` group (node/interfaces/cli/actions.py)."""
    p = actions.add_parser(
        "checkin",
        help=N_("check participants in (or --undo), add walk-ins; prints how many came"),
        description=N_(
            "Record who came: participants by local name, @user@host or actor IRI; "
            "walk-ins by name (--walk-in) or as a count (--walk-ins). --undo takes all of them "
            "back. Prints the new count of people who came."
        ),
    )
    p.__class__ = IntermixedParser  # the names may come after the options
    p.add_argument("call_id", metavar="CALL_ID")
    p.add_argument("people", nargs="*", metavar="NAME_OR_ACTOR", help=N_("participants who came"))
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument(
        "--walk-in",
        dest="walk_in",
        action="append",
        metavar="NAME",
        help=N_("someone who came without an RSVP or an account, by name (repeatable)"),
    )
    p.add_argument(
        "--walk-ins",
        dest="walk_ins",
        type=int,
        default=0,
        metavar="N",
        help=N_("N more people who came, counted without names"),
    )
    p.add_argument("--undo", action="store_true", help=N_("take back the check-ins and walk-ins"))
    p.set_defaults(func=command("cmd_action_checkin"))

    p = actions.add_parser(
        "checkin-code",
        help=N_("the call's check-in code, for members to enter on its page while it runs"),
    )
    p.add_argument("call_id", metavar="CALL_ID")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.set_defaults(func=command("cmd_action_checkin_code"))

    p = actions.add_parser(
        "participants",
        help=N_("who is coming to a call, by slot, who waits and who came (organisers)"),
    )
    p.add_argument("call_id", metavar="CALL_ID")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=command("cmd_action_participants"))
