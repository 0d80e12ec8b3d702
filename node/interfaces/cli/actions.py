"""``action create|update|cancel|list|adopt``: the organiser's side of action calls."""

from __future__ import annotations

import argparse
import json

from node.features.calls.lifecycle import (
    adopt_action,
    call_from_row,
    cancel_action,
    create_action,
    list_actions,
    update_action,
)
from node.features.calls.views import call_json
from node.interfaces.cli.base import Subparsers, data_arg, err, out, principal, with_services
from node.runtime.services import Services
from storage.models import ActionCall as CallRow


def _action_fields(args: argparse.Namespace) -> dict[str, object]:
    """CLI options → the same input the JSON API takes (validated in one place)."""
    data: dict[str, object] = {}
    for name in ("title", "start", "end", "timezone", "goal", "description", "online_url"):
        value = getattr(args, name, None)
        if value is not None:
            data[name] = value
    if args.place is not None:
        data["place"] = {"name": args.place, **({"address": args.address} if args.address else {})}
    if args.capacity is not None:
        data["capacity"] = args.capacity
    if args.target:
        data["targets"] = list(args.target)
    if args.tag:
        data["tags"] = list(args.tag)
    return data


def _print_call(services: Services, row: CallRow, as_json: bool) -> None:
    """The call's id on stdout (or the whole call as JSON); a one-line summary on stderr."""
    call = call_from_row(row, services)
    if as_json:
        out(json.dumps(call_json(call, local=row.local_actor_id is not None)))
    else:
        out(call.id)
        err(f"{call.title} · {call.status.lower()} · {call.participant_count} coming")


@with_services
async def cmd_action_create(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    row = await create_action(services, who, args.chapter, _action_fields(args))
    _print_call(services, row, args.json)
    return 0


@with_services
async def cmd_action_update(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    row = await update_action(services, who, args.call_id, _action_fields(args))
    _print_call(services, row, args.json)
    return 0


@with_services
async def cmd_action_cancel(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    row = await cancel_action(services, who, args.call_id)
    _print_call(services, row, args.json)
    return 0


@with_services
async def cmd_action_adopt(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    row = await adopt_action(services, who, args.call, args.chapter)
    _print_call(services, row, args.json)
    return 0


@with_services
async def cmd_action_list(args: argparse.Namespace, services: Services) -> int:
    """One tab-separated line per call (id, start, status, participants, title), or JSON."""
    rows = await list_actions(services, args.chapter)
    calls = [call_from_row(r, services) for r in rows]
    if args.json:
        out(json.dumps([call_json(c, local=True) for c in calls]))
    else:
        for c in calls:
            out(
                f"{c.id}\t{c.start.isoformat()}\t{c.status.lower()}\t{c.participant_count}\t{c.title}"
            )
    return 0


def _call_options(p: argparse.ArgumentParser, *, creating: bool) -> None:
    """The fields of a call; all optional when updating (only those given change)."""
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument("--title", required=creating)
    p.add_argument(
        "--start",
        required=creating,
        help="RFC 3339 with offset, e.g. 2027-04-12T10:00:00+01:00",
    )
    p.add_argument("--end", required=creating, help="RFC 3339 with offset, after --start")
    p.add_argument("--timezone", help="IANA time zone, e.g. Europe/London")
    p.add_argument("--place", help="where people meet")
    p.add_argument("--address", help="street address of the place")
    p.add_argument("--online-url", dest="online_url", help="link for online actions")
    p.add_argument("--capacity", type=int, help="how many people can take part")
    p.add_argument("--goal", help="what the action is for, in one line")
    p.add_argument("--description", help="details (HTML is sanitised)")
    p.add_argument(
        "--target",
        action="append",
        metavar="METRIC=AMOUNT:UNIT",
        help="e.g. participants=50:people (repeatable)",
    )
    p.add_argument("--tag", action="append", help="hashtag without # (repeatable)")
    p.add_argument("--json", action="store_true", help="print the call as JSON")


def register(sub: Subparsers) -> None:
    actions = sub.add_parser("action", help="publish and manage action calls").add_subparsers(
        dest="sub", required=True
    )
    p = actions.add_parser("create", help="publish an action call (prints its id)")
    _call_options(p, creating=True)
    p.add_argument("--chapter", required=True)
    p.set_defaults(func=cmd_action_create)

    p = actions.add_parser("update", help="edit an action call; followers get an Update")
    p.add_argument("call_id", metavar="CALL_ID")
    _call_options(p, creating=False)
    p.set_defaults(func=cmd_action_update)

    p = actions.add_parser("cancel", help="cancel an action call; followers get a Delete")
    p.add_argument("call_id", metavar="CALL_ID")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_action_cancel)

    p = actions.add_parser("list", help="list a chapter's action calls")
    data_arg(p)
    p.add_argument("--chapter", required=True)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=cmd_action_list)

    p = actions.add_parser(
        "adopt", help="take up a campaign's call in a chapter (prints the new call's id)"
    )
    p.add_argument("call", metavar="CALL_URL")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument("--chapter", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_action_adopt)
