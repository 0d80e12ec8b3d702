"""``chapter create|update``: the arguments; the bodies are in ``node.interfaces.cli.chapters``."""

from __future__ import annotations

from node.interfaces.cli.args import Subparsers, data_arg, lazy

command = lazy("chapters")

TIMEZONE_HELP = (
    "IANA time zone, e.g. Europe/London: call times given without an offset are read in it, "
    "and the web form starts with it"
)


def register(sub: Subparsers) -> None:
    chapter = sub.add_parser("chapter", help="manage chapters").add_subparsers(
        dest="sub", required=True
    )
    p = chapter.add_parser("create", help="create a chapter (prints its actor id)")
    p.add_argument("name")
    data_arg(p)
    p.add_argument("--title")
    p.add_argument("--summary")
    p.add_argument("--approve-followers", action="store_true", help="approve followers by hand")
    p.add_argument("--campaign", action="store_true", help="create a campaign instead of a chapter")
    p.add_argument("--timezone", metavar="ZONE", help=TIMEZONE_HELP)
    p.set_defaults(func=command("cmd_chapter_create"))

    p = chapter.add_parser(
        "update", help="change a chapter's settings (prints its actor id); only those given change"
    )
    p.add_argument("name")
    data_arg(p)
    p.add_argument("--timezone", metavar="ZONE", help=TIMEZONE_HELP)
    p.add_argument("--title", help="the name people see (followers get an Update)")
    p.add_argument("--summary", help="one paragraph about the chapter (followers get an Update)")
    p.add_argument(
        "--reminder-offsets",
        metavar="MINUTES",
        help="reminders before each call, in minutes before its start, e.g. 1440,120; "
        "'none' for no reminders, 'default' for the node's (reminder_offsets_minutes)",
    )
    p.set_defaults(func=command("cmd_chapter_update"))
