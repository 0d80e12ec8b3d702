"""``follow``, ``unfollow`` and ``following``: the arguments; the bodies are in
``node.interfaces.cli.following``."""

from __future__ import annotations

from node.interfaces.cli.args import Subparsers, data_arg, lazy
from node.interfaces.cli.words import N_

command = lazy("following")


def register_follow(sub: Subparsers) -> None:
    """``follow`` and ``unfollow`` (``following`` is registered apart, to keep the ``--help``
    order)."""
    for name, func, help_text in (
        ("follow", command("cmd_follow"), N_("follow a chapter or account by handle or URL")),
        ("unfollow", command("cmd_unfollow"), N_("stop following a chapter or account")),
    ):
        p = sub.add_parser(name, help=help_text)
        data_arg(p)
        p.add_argument("--as", dest="as_name", required=True, metavar="LOCALNAME")
        p.add_argument("target", metavar="HANDLE_OR_URL")
        p.set_defaults(func=func)


def register_listing(sub: Subparsers) -> None:
    p = sub.add_parser("following", help=N_("list whom a local actor follows, with the state"))
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="LOCALNAME")
    p.add_argument("--json", action="store_true", help=N_("one JSON document on stdout"))
    p.set_defaults(func=command("cmd_following"))
