"""``action create|update|cancel|restore|list|adopt``: the organiser's side of action calls."""

from __future__ import annotations

import argparse
import json

from node.features.calls.lifecycle import (
    adopt_action,
    call_from_row,
    cancel_action,
    create_action,
    list_actions,
    restore_action,
    update_action,
)
from node.features.calls.polls import publish_poll
from node.features.calls.views import call_json
from node.interfaces.cli import attendance, polls
from node.interfaces.cli.base import (
    CommandError,
    Subparsers,
    data_arg,
    err,
    out,
    principal,
    with_services,
)
from node.runtime.services import Services
from protocol.events import summary_line
from storage.models import ActionCall as CallRow

#: ``--clear NAME`` on update → the input field set to null (removed).
CLEARABLE = {
    "place": "place",
    "online-url": "online_url",
    "capacity": "capacity",
    "goal": "goal",
    "description": "description",
    "tags": "tags",
    "targets": "targets",
    "slots": "slots",
}


def _action_fields(args: argparse.Namespace, *, creating: bool) -> dict[str, object]:
    """CLI options → the same input the JSON API takes (validated in one place).

    On update this is a patch: ``--address`` alone changes the address and keeps the place's
    name; ``--target`` adds or replaces that metric and unit and keeps the other targets."""
    data: dict[str, object] = {}
    for name in ("title", "start", "end", "timezone", "goal", "description", "online_url"):
        value = getattr(args, name, None)
        if value is not None:
            data[name] = value
    place: dict[str, object] = {}
    if args.place is not None:
        place["name"] = args.place
    if args.address is not None:
        place["address"] = args.address
    if args.latitude is not None or args.longitude is not None:
        place["latitude"], place["longitude"] = args.latitude, args.longitude
        if args.latitude is None or args.longitude is None:
            raise CommandError("give --latitude and --longitude together")
    for what in getattr(args, "clear", None) or ():
        if what == "address":
            place["address"] = None
        elif what == "coordinates":
            place["latitude"] = place["longitude"] = None
        else:
            data[CLEARABLE[what]] = None
    if place:
        data["place"] = place
    if args.capacity is not None:
        data["capacity"] = args.capacity
    if args.target:
        data["targets" if creating else "set_targets"] = list(args.target)
    if getattr(args, "remove_target", None):
        data["remove_targets"] = list(args.remove_target)
    if args.tag:
        data["tags"] = list(args.tag)
    if args.slot:
        data["slots"] = list(args.slot)  # the text form; parsed with the API's slots
    _refuse_contradictions(args, data)
    return data


def _refuse_contradictions(args: argparse.Namespace, data: dict[str, object]) -> None:
    """``--clear X`` with a new value for X is a mistake: say so rather than pick one."""
    cleared = set(getattr(args, "clear", None) or ())
    given = {
        "place": args.place is not None or args.address is not None or args.latitude is not None,
        "address": args.address is not None,
        "coordinates": args.latitude is not None,
        "online-url": args.online_url is not None,
        "capacity": args.capacity is not None,
        "goal": args.goal is not None,
        "description": args.description is not None,
        "tags": bool(args.tag),
        "targets": bool(args.target) or bool(getattr(args, "remove_target", None)),
        "slots": bool(args.slot),
    }
    both = sorted(c for c in cleared if given.get(c))
    if both or ("place" in cleared and cleared & {"address", "coordinates"}):
        what = both[0] if both else "place"
        raise CommandError(f"--clear {what} contradicts another option that sets it")
    if not data:
        raise CommandError("nothing to change: give at least one option (see --help)")


def _print_call(services: Services, row: CallRow, as_json: bool) -> None:
    """The call's id on stdout (or the whole call as JSON); a one-line summary on stderr."""
    call = call_from_row(row, services)
    if as_json:
        out(json.dumps(call_json(call, local=row.local_actor_id is not None)))
    else:
        out(call.id)
        err(f"{call.title} · {call.status.lower()} · {call.participant_count} coming")
        err(summary_line(call))  # when (in the call's zone) · where · goal


@with_services
async def cmd_action_create(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    row = await create_action(services, who, args.chapter, _action_fields(args, creating=True))
    if args.poll:  # the RSVP poll Mastodon users can answer
        row = await publish_poll(services, who, row.ap_id)
        err(f"RSVP poll: {row.poll}")
    _print_call(services, row, args.json)
    return 0


@with_services
async def cmd_action_update(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    row = await update_action(services, who, args.call_id, _action_fields(args, creating=False))
    _print_call(services, row, args.json)
    return 0


@with_services
async def cmd_action_cancel(args: argparse.Namespace, services: Services) -> int:
    """Followers and participants get the call's Update (cancelled, with the reason)."""
    who = await principal(services, args.as_name)
    row = await cancel_action(services, who, args.call_id, args.reason)
    _print_call(services, row, args.json)
    return 0


@with_services
async def cmd_action_restore(args: argparse.Namespace, services: Services) -> int:
    """Un-cancel: followers and participants get the call's Update (confirmed again)."""
    who = await principal(services, args.as_name)
    row = await restore_action(services, who, args.call_id)
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


TIME_HELP = (
    "date and time: 2027-04-12T10:00 is local time in --timezone (else the call's, else the "
    "chapter's zone); 2027-04-12T10:00:00+01:00 is exact, and its offset must agree with "
    "--timezone if both are given"
)


def _call_options(p: argparse.ArgumentParser, *, creating: bool) -> None:
    """The fields of a call; all optional when updating (only those given change)."""
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument("--title", required=creating)
    p.add_argument("--start", required=creating, help=TIME_HELP)
    p.add_argument("--end", required=creating, help="date and time, after --start (as --start)")
    p.add_argument(
        "--timezone",
        metavar="ZONE",
        help="IANA time zone the call is shown in, e.g. Europe/London (default: the chapter's)"
        + ("" if creating else "; alone, it keeps the instants and shows them in ZONE"),
    )
    p.add_argument("--place", help="where people meet (its name)")
    p.add_argument("--address", help="street address of the place")
    p.add_argument("--latitude", type=float, help="the place's latitude (with --longitude)")
    p.add_argument("--longitude", type=float, help="the place's longitude (with --latitude)")
    p.add_argument("--online-url", dest="online_url", help="link for online actions")
    p.add_argument("--capacity", type=int, help="how many people can take part")
    p.add_argument("--goal", help="what the action is for, in one line")
    p.add_argument("--description", help="details (HTML is sanitised)")
    p.add_argument(
        "--target",
        action="append",
        metavar="METRIC=AMOUNT:UNIT",
        help="e.g. participants=50:people (repeatable)"
        + ("" if creating else "; adds or replaces that metric and unit, keeps the others"),
    )
    p.add_argument(
        "--slot",
        action="append",
        metavar="START-END ROLE:CAPACITY",
        help="a shift or role, e.g. '10:00-12:00 litter pickers:10' (repeatable): times on the "
        "call's date in its zone (or full dates and times), within the call; the call's capacity "
        "is then the slots' sum"
        + ("" if creating else "; replaces all the call's slots (same role and times: same id)"),
    )
    p.add_argument(
        "--tag",
        action="append",
        help="hashtag without # (repeatable)"
        + ("" if creating else "; the call's hashtags become those given"),
    )
    if not creating:
        p.add_argument(
            "--remove-target",
            dest="remove_target",
            action="append",
            metavar="METRIC:UNIT",
            help="remove that target, e.g. kg_litter:kg (repeatable)",
        )
        p.add_argument(
            "--clear",
            action="append",
            choices=sorted([*CLEARABLE, "address", "coordinates"]),
            help="remove that field from the call (repeatable)",
        )
    p.add_argument("--json", action="store_true", help="print the call as JSON")


def register(sub: Subparsers) -> None:
    actions = sub.add_parser("action", help="publish and manage action calls").add_subparsers(
        dest="sub", required=True
    )
    p = actions.add_parser("create", help="publish an action call (prints its id)")
    _call_options(p, creating=True)
    p.add_argument("--chapter", required=True)
    p.add_argument(
        "--poll", action="store_true", help="also publish its RSVP poll (see `action poll`)"
    )
    p.set_defaults(func=cmd_action_create)

    p = actions.add_parser(
        "update",
        help="edit an action call: only the options given change; followers get an Update",
        description="Edit an action call: only the options given change (--place keeps the "
        "address, --target keeps the other targets); --clear removes a field. An update with "
        "nothing to change, or a --remove-target the call lacks, is an error (exit 1).",
    )
    p.add_argument("call_id", metavar="CALL_ID")
    _call_options(p, creating=False)
    p.set_defaults(func=cmd_action_update)

    p = actions.add_parser(
        "cancel",
        help="cancel an action call; followers and participants get its Update (cancelled)",
    )
    p.add_argument("call_id", metavar="CALL_ID")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument("--reason", help="why, in a sentence: participants see it (optional)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_action_cancel)

    p = actions.add_parser(
        "restore",
        help="un-cancel an action call; participants keep their places",
    )
    p.add_argument("call_id", metavar="CALL_ID")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_action_restore)

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

    attendance.register_action(actions)  # checkin, checkin-code
    polls.register_action(actions)  # poll
