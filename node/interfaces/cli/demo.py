"""``demo``: a local federation (a campaign, three chapters) playing a scripted day of action,
to show what Chapterhouse does. The work is in ``node.ops.demo``."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.interfaces.cli.base import Subparsers
from node.ops.demo.script import run_demo


async def cmd_demo(args: argparse.Namespace) -> int:
    return await run_demo(
        base_port=args.base_port, directory=Path(args.dir), exit_after_script=args.exit_after_script
    )


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "demo",
        help="run a local federation (a campaign, three chapters) and play a day of action",
    )
    p.add_argument(
        "--base-port",
        type=int,
        default=8100,
        help="the campaign node's port; the chapters take the next three (default 8100)",
    )
    p.add_argument(
        "--dir",
        default="var/demo",
        help="the nodes' data (default var/demo); an earlier demo's directory there is replaced",
    )
    p.add_argument(
        "--exit-after-script",
        action="store_true",
        help="stop the nodes and exit once the day has played (instead of serving until Ctrl-C)",
    )
    p.set_defaults(func=cmd_demo)
