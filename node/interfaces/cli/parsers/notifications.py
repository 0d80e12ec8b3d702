"""``notifications``: the arguments; the body is in ``node.interfaces.cli.notifications``."""

from __future__ import annotations

from node.interfaces.cli.args import Subparsers, data_arg, lazy
from node.interfaces.cli.words import N_

command = lazy("notifications")


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "notifications",
        help=N_("a member's notifications, newest first (* marks the unread ones)"),
    )
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="MEMBER")
    p.add_argument("--json", action="store_true", help=N_("one JSON document on stdout"))
    p.add_argument("--unread", action="store_true", help=N_("only the unread ones"))
    p.add_argument("--mark-read", action="store_true", help=N_("mark the ones listed read"))
    p.set_defaults(func=command("cmd_notifications"))
