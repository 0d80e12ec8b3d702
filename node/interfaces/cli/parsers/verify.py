"""``verify``: the arguments; the body is in ``node.interfaces.cli.verify``."""

from __future__ import annotations

from node.interfaces.cli.args import Subparsers, lazy
from node.interfaces.cli.words import N_

command = lazy("verify")


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "verify",
        help=N_(
            "check a rollup against every report it counts: exit 0 verified, 1 mismatch, "
            "3 could not check (unreachable), 2 usage"
        ),
    )
    p.add_argument("url", metavar="URL")
    p.add_argument(
        "--allow-private-network", action="store_true", help=N_("allow loopback/private addresses")
    )
    p.add_argument(
        "--data",
        metavar="DIR",
        help=N_(
            "verify as this node: fetches are signed by its instance actor, so chapters that "
            "require signed fetches (authorized fetch) answer"
        ),
    )
    p.add_argument("--json", action="store_true", help=N_("one JSON document on stdout"))
    p.set_defaults(func=command("cmd_verify"))
