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
from node.interfaces.cli.base import (
    CommandError,
    err,
    out,
    principal,
    with_services,
)
from node.interfaces.cli.parsers.actions import CLEARABLE
from node.interfaces.cli.words import _, ngettext
from node.runtime.services import Services
from protocol.events import summary_line
from storage.models import ActionCall as CallRow


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
            raise CommandError(_("give --latitude and --longitude together"))
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
    if args.language is not None:
        data["language"] = args.language
    for option, key in (("title_in", "titleMap"), ("description_in", "descriptionMap")):
        pairs = getattr(args, option, None) or []
        if pairs:
            translations = dict(pairs)  # tags are checked with the API's input
            if len(translations) < len(pairs):
                flag = "--" + option.replace("_", "-")
                raise CommandError(_("{flag}: a language is given twice").format(flag=flag))
            data[key] = translations
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
        "title-in": bool(args.title_in),
        "description-in": bool(args.description_in),
    }
    both = sorted(c for c in cleared if given.get(c))
    if both or ("place" in cleared and cleared & {"address", "coordinates"}):
        what = both[0] if both else "place"
        raise CommandError(
            _("--clear {what} contradicts another option that sets it").format(what=what)
        )
    if not data:
        raise CommandError(_("nothing to change: give at least one option (see --help)"))


def _print_call(services: Services, row: CallRow, as_json: bool) -> None:
    """The call's id on stdout (or the whole call as JSON); a one-line summary on stderr."""
    call = call_from_row(row, services)
    if as_json:
        out(json.dumps(call_json(call, local=row.local_actor_id is not None)))
    else:
        out(call.id)
        coming = ngettext("{count} coming", "{count} coming", call.participant_count).format(
            count=call.participant_count
        )
        err(f"{call.title} · {call.status.lower()} · {coming}")
        err(summary_line(call))  # when (in the call's zone) · where · goal


@with_services
async def cmd_action_create(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    row = await create_action(services, who, args.chapter, _action_fields(args, creating=True))
    if args.poll:  # the RSVP poll Mastodon users can answer
        row = await publish_poll(services, who, row.ap_id)
        err(_("RSVP poll: {poll}").format(poll=row.poll))
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
