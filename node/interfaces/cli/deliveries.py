"""``deliveries [list]`` and ``deliveries retry``: see what the outbox could not deliver, and
send it again once the far side is back."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Coroutine, Sequence
from datetime import datetime
from typing import Any

from node.interfaces.cli.base import Command, CommandError, Subparsers, err, out, with_services
from node.runtime.services import Services
from storage.models.states import DeliveryState
from storage.repositories import delivery_admin

DELIVERY_LIST_STATES = (
    DeliveryState.PENDING,
    delivery_admin.FAILING,
    DeliveryState.DEAD,
)  # what `deliveries` shows by default
DELIVERY_LIST_LIMIT = 100


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
        err(f"no deliveries in state {', '.join(states)}")
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
        out(f"re-queued {count} {'delivery' if count == 1 else 'deliveries'}")
    if ids and count < len(ids):
        raise CommandError(
            f"only {count} of the {len(ids)} deliveries asked for could be re-queued; "
            "the rest do not exist, are not dead or failing, or are being sent right now"
        )
    return 0


def _deliveries_command(
    listing: argparse.ArgumentParser, retry: argparse.ArgumentParser
) -> Command:
    """Checks what argparse cannot express, before the event loop starts, so these usage
    errors exit 2 like any other. ``--data`` is not marked required because it may come
    before or after the optional ``list``/``retry`` word, and each parser sees only its side.
    """

    def command(args: argparse.Namespace) -> Coroutine[Any, Any, int]:
        if args.sub == "retry":
            if "data" not in args:
                retry.error("the following arguments are required: --data")
            if args.state is not None or args.limit is not None:
                retry.error("--state and --limit are for listing, not for retry")
            chosen = [bool(args.ids), args.all_dead, args.host is not None]
            if sum(chosen) != 1:
                retry.error("say what to re-queue: IDs, --all-dead or --host HOST (one of them)")
            return cmd_deliveries_retry(args)
        if "data" not in args:
            listing.error("the following arguments are required: --data")
        return cmd_deliveries_list(args)

    return command


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _listing_options(p: argparse.ArgumentParser, default: Any) -> None:
    """On both ``deliveries`` and ``deliveries list``; see ``register`` for the defaults."""
    p.add_argument(
        "--data",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="the node's data directory (required)",
    )
    p.add_argument(
        "--state",
        action="append",
        choices=[*DELIVERY_LIST_STATES, DeliveryState.SENT],
        default=default,
        help="show rows in this state (repeatable; default: pending, failing, dead)",
    )
    p.add_argument(
        "--limit",
        type=_positive_int,
        metavar="N",
        default=default,
        help=f"show at most N rows (default {DELIVERY_LIST_LIMIT})",
    )
    p.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if default is argparse.SUPPRESS else False,
        help="one JSON document on stdout",
    )


def register(sub: Subparsers) -> None:
    # `deliveries` lists; `deliveries retry` re-queues. `list` may be named but need not be,
    # so the listing options live on both `deliveries` and `deliveries list`; the copies
    # default to SUPPRESS so that an option given on one side is not reset by the other.
    deliveries = sub.add_parser(
        "deliveries",
        help="list the delivery queue (pending, failing, dead) or re-queue failed deliveries",
        description="List deliveries, newest first (default: pending, failing and dead; "
        "failing = pending after at least one failed attempt), or re-queue them with `retry`.",
    )
    _listing_options(deliveries, None)
    delivery_actions = deliveries.add_subparsers(dest="sub", metavar="[list | retry]")
    listing = delivery_actions.add_parser("list", help="list deliveries (the default)")
    _listing_options(listing, argparse.SUPPRESS)
    retry = delivery_actions.add_parser(
        "retry",
        help="re-queue dead or failing deliveries (prints how many)",
        description="Put dead or failing deliveries back in the queue, due now, with their "
        "attempt count reset. Give delivery IDs, or --all-dead, or --host HOST.",
    )
    retry.add_argument("ids", nargs="*", type=int, metavar="ID", help="delivery ids")
    retry.add_argument(
        "--data",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="the node's data directory (required)",
    )
    retry.add_argument("--all-dead", action="store_true", help="every dead delivery")
    retry.add_argument("--host", help="the dead and failing deliveries to this host[:port]")
    retry.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help='print {"requeued": N}'
    )
    deliveries.set_defaults(func=_deliveries_command(deliveries, retry))
