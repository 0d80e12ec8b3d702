"""``demo``: the arguments; the body is in ``node.interfaces.cli.demo``."""

from __future__ import annotations

from node.interfaces.cli.args import Subparsers, lazy
from node.interfaces.cli.words import N_

command = lazy("demo")


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "demo",
        help=N_("run a local federation (a campaign, three chapters) and play a day of action"),
    )
    p.add_argument(
        "--base-port",
        type=int,
        default=8100,
        help=N_("the campaign node's port; the chapters take the next three (default 8100)"),
    )
    p.add_argument(
        "--dir",
        default="var/demo",
        help=N_(
            "the nodes' data (default var/demo); an earlier demo's directory there is replaced"
        ),
    )
    p.add_argument(
        "--exit-after-script",
        action="store_true",
        help=N_(
            "stop the nodes and exit once the day has played (instead of serving until Ctrl-C)"
        ),
    )
    p.set_defaults(func=command("cmd_demo"))
