"""``deliveries [list]`` and ``deliveries retry``: see what the outbox could not deliver, and
send it again once the far side is back."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from node.interfaces.cli.base import CommandError, err, out, with_services
from node.interfaces.cli.parsers.deliveries import DELIVERY_LIST_LIMIT
from node.interfaces.cli.words import _, ngettext
from node.runtime.services import Services
from storage.models.states import DeliveryState
from storage.repositories import delivery_admin

DELIVERY_LIST_STATES = (
    DeliveryState.PENDING,
    delivery_admin.FAILING,
    DeliveryState.DEAD,
)  # what `deliveries` shows by default


def _delivery_json(view: delivery_admin.DeliveryView) -> dict[str, Any]:
    doc = dataclasses.asdict(view)
    for key in ("next_attempt_at", "created_at"):
        doc[key] = doc[key].isoformat() if doc[key] is not None else None
    return doc


def _delivery_table(views: Sequence[delivery_admin.DeliveryView]) -> list[str]:
    """Aligned columns; the last error is cut to one short line (``--json`` has it whole)."""

    def when(value: datetime | None) -> str:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else "-"

    def error(text: str | None) -> str:
        line = " ".join((text or "").split())
        return line if len(line) <= 80 else line[:79] + "…"

    rows = [("ID", "STATE", "TRIES", "NEXT ATTEMPT", "STATUS", "HOST", "TYPE", "LAST ERROR")]
    rows += [
        (
            str(v.id),
            v.state,
            str(v.attempts),
            when(v.next_attempt_at),
            str(v.last_status) if v.last_status is not None else "-",
            v.host,
            v.activity_type,
            error(v.last_error),
        )
        for v in views
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    ]


@with_services
async def cmd_deliveries_list(args: argparse.Namespace, services: Services) -> int:
    """Newest first; an empty queue is a note on stderr, so stdout stays empty."""
    states = tuple(dict.fromkeys(args.state)) if args.state else DELIVERY_LIST_STATES
    limit = args.limit if args.limit is not None else DELIVERY_LIST_LIMIT
    async with services.db.read() as session:
        views = await delivery_admin.list_deliveries(session, states=set(states), limit=limit)
    if args.json:
        out(json.dumps([_delivery_json(v) for v in views]))
    elif views:
        for line in _delivery_table(views):
            out(line.rstrip())
    else:
        err(_("no deliveries in state {states}").format(states=", ".join(states)))
    return 0


@with_services
async def cmd_deliveries_retry(args: argparse.Namespace, services: Services) -> int:
    """Prints how many were re-queued; exit 1 if some of the IDs asked for could not be."""
    ids = sorted(set(args.ids))
    async with services.db.write() as session:
        count = await delivery_admin.requeue(
            session,
            ids=ids,
            all_dead=args.all_dead,
            host=args.host,
            now=services.clock.now(),
        )
    if getattr(args, "json", False):
        out(json.dumps({"requeued": count}))
    else:
        out(
            ngettext("re-queued {count} delivery", "re-queued {count} deliveries", count).format(
                count=count
            )
        )
    if ids and count < len(ids):
        raise CommandError(
            _(
                "only {count} of the {asked} deliveries asked for could be re-queued; the rest "
                "do not exist, are not dead or failing, or are being sent right now"
            ).format(count=count, asked=len(ids))
        )
    return 0
