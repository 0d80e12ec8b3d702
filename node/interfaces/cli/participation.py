"""``rsvp``, ``feed`` and ``commitments``: a member's side of action calls."""

from __future__ import annotations

import argparse
import json

from node.features.calls.rsvp import commitments, leave, rsvp
from node.features.calls.views import commitment_json
from node.features.following.feed import feed_page
from node.interfaces.cli.base import out, principal, with_services
from node.runtime.services import Services
from storage.models.states import CommitmentState


@with_services
async def cmd_rsvp(args: argparse.Namespace, services: Services) -> int:
    """Exit 1 when the organiser's node refuses the RSVP (cancelled, banned ...), so scripts
    see it; a full call here puts the member on its waiting list (``waitlisted``, exit 0)."""
    who = await principal(services, args.as_name)
    result = await (
        leave(services, who, args.call) if args.leave else rsvp(services, who, args.call, args.slot)
    )
    where = f" slot={result.slot}" if result.slot else ""
    place = f" position={result.position}" if result.position else ""
    said = f" ({result.reason})" if result.reason else ""
    out(f"{result.call} {result.state}{where}{place}{said}")
    return 0 if result.state != CommitmentState.REJECTED else 1


@with_services
async def cmd_feed(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    items, _more = await feed_page(services, who, page=args.page, per_page=args.per_page)
    if args.json:
        out(json.dumps(items))
    else:
        for item in items:
            out(f"{item['id']}\t{item['start']}\t{item['status']}\t{item['title']}")
    return 0


@with_services
async def cmd_commitments(args: argparse.Namespace, services: Services) -> int:
    """A contract: ``--json`` prints one list, each item with ``call``, ``title``, ``start``
    and ``state`` (pending|accepted|waitlisted|rejected|removed|cancelled|left); without it,
    one tab-separated line each: call, state, start, title (and the reason, if any)."""
    who = await principal(services, args.as_name)
    rows = await commitments(services, who)
    if args.json:
        out(json.dumps([commitment_json(r) for r in rows]))
    else:
        for item in map(commitment_json, rows):
            fields = [item["call"], item["state"], item["start"] or "", item["title"] or ""]
            if item["reason"]:
                fields.append(f"({item['reason']})")
            out("\t".join(str(f) for f in fields))
    return 0
