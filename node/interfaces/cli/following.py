"""``follow``, ``unfollow`` and ``following``: which chapters and accounts a local actor hears."""

from __future__ import annotations

import argparse
import json

from node.features.following.follow import follow, following, unfollow
from node.interfaces.cli.base import out, with_services
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
