"""``keys rotate``: the arguments; the body is in ``node.interfaces.cli.keys``."""

from __future__ import annotations

from node.interfaces.cli.args import Subparsers, data_arg, lazy
from node.interfaces.cli.words import N_

command = lazy("keys")


def register(sub: Subparsers) -> None:
    keys = sub.add_parser("keys", help=N_("manage a local actor's keys")).add_subparsers(
        dest="sub", required=True
    )
    p = keys.add_parser("rotate", help=N_("replace an actor's keys and tell its followers"))
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="NAME")
    p.add_argument(
        "--assertion-key",
        action="store_true",
        help=N_("also replace the Ed25519 key that signs objects (earlier proofs stop verifying)"),
    )
    p.set_defaults(func=command("cmd_keys_rotate"))
