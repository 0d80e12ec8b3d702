"""``purge``: drop finished deliveries and handled inbox items now, as the node's daily purge
does (``node/federation/retention.py``), for an age of the operator's choosing.

Safe beside a running node: the purge works in short transactions and removes only rows whose
work is over. Progress goes to stderr; the one-line result to stdout. Exit 0 on success, 1 if
it could not be done (the message says why), 2 for usage errors.
"""

from __future__ import annotations

import argparse
from datetime import timedelta

from node.federation.retention import Purged, purge
from node.interfaces.cli.base import CommandError, err, out, with_services
from node.runtime.services import Services


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _summary(purged: Purged, *, dry_run: bool) -> str:
    verb = "would purge" if dry_run else "purged"
    return (
        f"{verb} {_count(purged.deliveries, 'delivery', 'deliveries')}, "
        f"{_count(purged.inbox_items, 'inbox item', 'inbox items')} "
        f"and {_count(purged.inbox_bodies, 'inbox body', 'inbox bodies')}"
    )


@with_services
async def cmd_purge(args: argparse.Namespace, services: Services) -> int:
    days = args.older_than_days
    if days is None:
        days = services.settings.retention_days
        if days == 0:
            raise CommandError(
                "retention is off for this node (retention_days = 0): "
                "say how old with --older-than-days N"
            )
    older_than = timedelta(days=days)

    def progress(what: str, done: int) -> None:
        err(f"{what}: {done} purged so far")

    purged = await purge(services, older_than, dry_run=args.dry_run, progress=progress)
    out(_summary(purged, dry_run=args.dry_run))
    return 0
