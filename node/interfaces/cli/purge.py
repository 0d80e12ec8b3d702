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
from node.interfaces.cli.words import _, ngettext
from node.runtime.services import Services


def _summary(purged: Purged, *, dry_run: bool) -> str:
    counts = {
        "deliveries": ngettext("{count} delivery", "{count} deliveries", purged.deliveries),
        "items": ngettext("{count} inbox item", "{count} inbox items", purged.inbox_items),
        "bodies": ngettext("{count} inbox body", "{count} inbox bodies", purged.inbox_bodies),
    }
    numbers = {"deliveries": purged.deliveries, "items": purged.inbox_items}
    numbers["bodies"] = purged.inbox_bodies
    said = {key: text.format(count=numbers[key]) for key, text in counts.items()}
    if dry_run:
        return _("would purge {deliveries}, {items} and {bodies}").format(**said)
    return _("purged {deliveries}, {items} and {bodies}").format(**said)


@with_services
async def cmd_purge(args: argparse.Namespace, services: Services) -> int:
    days = args.older_than_days
    if days is None:
        days = services.settings.retention_days
        if days == 0:
            raise CommandError(
                _(
                    "retention is off for this node (retention_days = 0): "
                    "say how old with --older-than-days N"
                )
            )
    older_than = timedelta(days=days)

    def progress(what: str, done: int) -> None:
        err(_("{what}: {count} purged so far").format(what=what, count=done))

    purged = await purge(services, older_than, dry_run=args.dry_run, progress=progress)
    out(_summary(purged, dry_run=args.dry_run))
    return 0
