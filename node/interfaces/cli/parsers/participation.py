"""``rsvp``, ``feed`` and ``commitments``: the arguments; the bodies are in
``node.interfaces.cli.participation``."""

from __future__ import annotations

from node.interfaces.cli.args import Subparsers, data_arg, lazy
from node.interfaces.cli.words import N_

command = lazy("participation")


def register(sub: Subparsers) -> None:
    p = sub.add_parser("rsvp", help=N_("take part in an action call (or --leave it)"))
    p.add_argument("call", metavar="CALL_URL")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="MEMBER")
    p.add_argument("--leave", action="store_true", help=N_("withdraw instead"))
    p.add_argument(
        "--slot",
        metavar="SLOT",
        help=N_(
            "the slot (shift or role) to take: its id, role name or number; "
            "without it, the first slot with room"
        ),
    )
    p.set_defaults(func=command("cmd_rsvp"))

    p = sub.add_parser("feed", help=N_("action calls of the chapters a member follows"))
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="MEMBER")
    p.add_argument("--page", type=int, default=1)
    p.add_argument("--per-page", dest="per_page", type=int, default=20)
    p.add_argument("--json", action="store_true", help=N_("one JSON document on stdout"))
    p.set_defaults(func=command("cmd_feed"))

    p = sub.add_parser("commitments", help=N_("a member's RSVPs and their answers"))
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="MEMBER")
    p.add_argument("--json", action="store_true", help=N_("one JSON document on stdout"))
    p.set_defaults(func=command("cmd_commitments"))
