"""``demo``: a local federation (a campaign, three chapters) playing a scripted day of action,
to show what Chapterhouse does. The work is in ``node.ops.demo``."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.ops.demo.script import run_demo


async def cmd_demo(args: argparse.Namespace) -> int:
    return await run_demo(
        base_port=args.base_port, directory=Path(args.dir), exit_after_script=args.exit_after_script
    )
