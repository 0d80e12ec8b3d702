"""``purge``: the arguments; the body is in ``node.interfaces.cli.purge``."""

from __future__ import annotations

import argparse

from node.interfaces.cli.args import Subparsers, data_arg, lazy
from node.interfaces.cli.words import N_, _

command = lazy("purge")


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            _("expected a whole number of days (0 or more), got {text!r}").format(text=text)
        )
    return value


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "purge",
        help=N_("drop sent/dead deliveries and handled inbox items older than the retention"),
        description=N_(
            "Delete sent and dead deliveries and handled inbox items older than N days "
            "(default: the node's retention_days). Inbox activity ids are kept at least as long as "
            "the signature window, so a replayed activity is still recognised as a duplicate."
        ),
    )
    data_arg(p)
    p.add_argument(
        "--older-than-days",
        type=_days,
        metavar="N",
        help=N_("purge what is older than N days (default: the retention_days setting)"),
    )
    p.add_argument(
        "--dry-run", action="store_true", help=N_("only count what would be purged; change nothing")
    )
    p.set_defaults(func=command("cmd_purge"))
