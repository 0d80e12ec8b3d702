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

from node.features.calls.attendance import attendance_sheet, record_attendance
from node.features.calls.checkin_code import checkin_code, checkin_window, shown_code
from node.features.calls.lookup import local_call
from node.interfaces.cli.base import err, out, principal, with_services
from node.interfaces.cli.words import N_, _
from node.runtime.services import Services

#: How a name that changed nothing is told: it was so already.
ALREADY = {"checked in": N_("already checked in"), "check-in undone": N_("was not checked in")}
#: What a name that changed something is told (``node.features.calls.attendance``'s words).
DONE = {"checked in": N_("checked in"), "check-in undone": N_("check-in undone")}


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
            err(f"{_(DONE.get(change.what, change.what))}: {change.who}")
        else:
            err(f"{_(ALREADY.get(change.what, change.what))}: {change.who}")
    err(result.tally.describe())
    out(str(result.tally.came))
    return 0


@with_services
async def cmd_action_checkin_code(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    code = await checkin_code(services, who, args.call_id)
    row, _chapter = await local_call(services, args.call_id)
    opens, closes = checkin_window(row)
    out(shown_code(code))
    err(
        _("members signed in enter it on the call's page from {opens} to {closes}").format(
            opens=opens, closes=closes
        )
    )
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
