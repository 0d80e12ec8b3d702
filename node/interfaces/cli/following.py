"""``follow``, ``unfollow`` and ``following``: which chapters and accounts a local actor hears."""

from __future__ import annotations

import argparse
import json

from node.features.following.follow import follow, following, unfollow
from node.interfaces.cli.base import Subparsers, data_arg, out, with_services
from node.runtime.services import Services


@with_services
async def cmd_follow(args: argparse.Namespace, services: Services) -> int:
    result = await follow(services, args.as_name, args.target)
    out(f"{result.target} {result.state}")
    return 0


@with_services
async def cmd_unfollow(args: argparse.Namespace, services: Services) -> int:
    result = await unfollow(services, args.as_name, args.target)
    out(f"{result.target} {result.state}")
    return 0


@with_services
async def cmd_following(args: argparse.Namespace, services: Services) -> int:
    rows = await following(services, args.as_name)
    if args.json:
        out(json.dumps([{"target": r.target, "state": r.state} for r in rows]))
    else:
        for row in rows:
            out(f"{row.target} {row.state}")
    return 0


def register_follow(sub: Subparsers) -> None:
    """``follow`` and ``unfollow`` (``following`` is registered apart, to keep the ``--help``
    order)."""
    for name, func, help_text in (
        ("follow", cmd_follow, "follow a chapter or account by handle or URL"),
        ("unfollow", cmd_unfollow, "stop following a chapter or account"),
    ):
        p = sub.add_parser(name, help=help_text)
        data_arg(p)
        p.add_argument("--as", dest="as_name", required=True, metavar="LOCALNAME")
        p.add_argument("target", metavar="HANDLE_OR_URL")
        p.set_defaults(func=func)


def register_listing(sub: Subparsers) -> None:
    p = sub.add_parser("following", help="list whom a local actor follows, with the state")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="LOCALNAME")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=cmd_following)
