"""``action checkin``, ``action checkin-code`` and ``action participants``: organisers see who
is coming (by slot, and who waits) and record who came.

Output (a contract): ``checkin`` prints the new count of people who came, one line on stdout;
what each name did goes to stderr. ``checkin-code`` prints the call's check-in code. Exit 1,
with nothing recorded, when a name matches no participant, the walk-ins would go below zero,
the call is unknown or cancelled, or ``--as`` is not one of its organisers.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from node.features.calls.attendance import attendance_sheet, record_attendance
from node.features.calls.checkin_code import checkin_code, checkin_window, shown_code
from node.features.calls.lookup import local_call
from node.interfaces.cli.base import Subparsers, data_arg, err, out, principal, with_services
from node.runtime.services import Services


class IntermixedParser(argparse.ArgumentParser):
    """A command whose names may follow its options, as the contract writes it
    (``checkin CALL_ID --data DIR --as ORGANISER mia max``): plain argparse gives a ``*``
    positional only the words before the first option."""

    intermixing = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self.intermixing:  # parse_known_intermixed_args calls back here, twice
            return super().parse_known_args(args, namespace)
        self.intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self.intermixing = False


#: How a name that changed nothing is told: it was so already.
ALREADY = {"checked in": "already checked in", "check-in undone": "was not checked in"}


@with_services
async def cmd_action_checkin(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    result = await record_attendance(
        services,
        who,
        args.call_id,
        people=args.people,
        names=args.walk_in or (),
        walk_ins=args.walk_ins,
        undo=args.undo,
    )
    for change in result.changes:
        if change.changed:
            err(f"{change.what}: {change.who}")
        else:
            err(f"{ALREADY.get(change.what, change.what)}: {change.who}")
    err(result.tally.describe())
    out(str(result.tally.came))
    return 0


@with_services
async def cmd_action_checkin_code(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    code = await checkin_code(services, who, args.call_id)
    row, _ = await local_call(services, args.call_id)
    opens, closes = checkin_window(row)
    out(shown_code(code))
    err(f"members signed in enter it on the call's page from {opens} to {closes}")
    return 0


@with_services
async def cmd_action_participants(args: argparse.Namespace, services: Services) -> int:
    """One block per slot (the call as a whole when it has none): each person with their
    handle, ``accepted`` or ``waitlisted`` and whether they came; ``--json`` the same."""
    who = await principal(services, args.as_name)
    sheet = await attendance_sheet(services, who, args.call_id)
    groups = [
        {
            "slot": group.name,
            "people": [
                {
                    "actor": e.person.iri,
                    "name": e.person.name,
                    "handle": e.person.handle,
                    "state": "waitlisted" if e.waitlisted else "accepted",
                    "came": e.checked_in,
                }
                for e in group.entries
            ],
        }
        for group in sheet.groups
    ]
    if args.json:
        out(json.dumps({"call": sheet.call.id, "groups": groups, "came": sheet.tally.came}))
        return 0
    for group in groups:
        people = group["people"]
        assert isinstance(people, list)
        out(f"{group['slot'] or sheet.call.title}: {len(people)}")
        for person in people:
            came = "\tcame" if person["came"] else ""
            out(
                f"  {person['name']}\t{person['handle'] or person['actor']}\t{person['state']}{came}"
            )
    out(sheet.tally.describe())
    return 0


def register_action(actions: Subparsers) -> None:
    """The two commands, in the ``action`` group (node/interfaces/cli/actions.py)."""
    p = actions.add_parser(
        "checkin",
        help="check participants in (or --undo), add walk-ins; prints how many came",
        description="Record who came: participants by local name, @user@host or actor IRI; "
        "walk-ins by name (--walk-in) or as a count (--walk-ins). --undo takes all of them "
        "back. Prints the new count of people who came.",
    )
    p.__class__ = IntermixedParser  # the names may come after the options
    p.add_argument("call_id", metavar="CALL_ID")
    p.add_argument("people", nargs="*", metavar="NAME_OR_ACTOR", help="participants who came")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument(
        "--walk-in",
        dest="walk_in",
        action="append",
        metavar="NAME",
        help="someone who came without an RSVP or an account, by name (repeatable)",
    )
    p.add_argument(
        "--walk-ins",
        dest="walk_ins",
        type=int,
        default=0,
        metavar="N",
        help="N more people who came, counted without names",
    )
    p.add_argument("--undo", action="store_true", help="take back the check-ins and walk-ins")
    p.set_defaults(func=cmd_action_checkin)

    p = actions.add_parser(
        "checkin-code",
        help="the call's check-in code, for members to enter on its page while it runs",
    )
    p.add_argument("call_id", metavar="CALL_ID")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.set_defaults(func=cmd_action_checkin_code)

    p = actions.add_parser(
        "participants",
        help="who is coming to a call, by slot, who waits and who came (organisers)",
    )
    p.add_argument("call_id", metavar="CALL_ID")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_action_participants)
