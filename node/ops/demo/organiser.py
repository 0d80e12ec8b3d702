"""The organiser's part of the demo day: a poll vote, a check-in and a reminder.

- A chapter that reminds its people a minute before its calls posts one for this evening with
  an RSVP poll; a member of another node answers the poll the way a Mastodon user would (a
  vote, not a Join), and the chapter counts them in and tells them so.
- At the door, the first chapter's organiser checks its members in and counts the walk-ins;
  the chapter's report then takes its head count from the attendance (``--from-attendance``).
- Last, the member who RSVPed to the evening call finds its reminder among their
  notifications, once.

Each step waits for what a person would see (``commitments``, ``notifications``, the call's
document), never a sleep.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from node.interfaces.cli.words import N_, _, number
from node.ops.demo.errors import DemoError
from node.ops.demo.plan import CHECK_IN, LONDON, POLL, REMINDER

if TYPE_CHECKING:
    from node.ops.demo.day import Demo
    from node.ops.demo.nodes import DemoNode


async def _json(demo: Demo, node: DemoNode, *args: str) -> Any:
    return json.loads("\n".join(await demo.run(node, *args)))


async def evening_call(demo: Demo) -> None:
    """A chapter that reminds its people shortly before its calls posts one for this evening
    with an RSVP poll; a member RSVPs here and a member of another node votes on the poll."""
    chapter, member, minutes = REMINDER
    node, organiser = demo.chapters[chapter], demo.plans[chapter].organiser
    await demo.run(node, "chapter", "update", chapter, "--reminder-offsets", str(minutes))
    start = datetime.now(UTC) + timedelta(minutes=minutes, seconds=20)
    start = start.astimezone(LONDON).replace(microsecond=0)
    ends = (start + timedelta(hours=1)).isoformat()
    lines = await demo.run(
        node, "action", "create", "--as", organiser, "--chapter", chapter,
        "--title", "Evening litter pick", "--start", start.isoformat(), "--end", ends,
        "--timezone", "Europe/London", "--place", "The old canal towpath", "--poll",
    )  # fmt: skip
    demo.evening_call = call = lines[0]
    poll = (await demo.run(node, "action", "poll", call, "--as", organiser))[0]
    await demo.run(node, "rsvp", call, "--as", member)
    said = _(
        "{chapter} now reminds {minutes} minute(s) before its calls; {organiser} posted one "
        "starting {start} with an RSVP poll ({poll}); {member} RSVPed"
    )
    demo.detail(
        said.format(
            chapter=chapter,
            minutes=number(minutes),
            organiser=organiser,
            start=f"{start:%H:%M:%S}",
            poll=poll,
            member=member,
        )
    )
    home, voter = POLL
    where = demo.chapters[home]
    await demo.run(where, "vote", poll, "Going", "--as", voter)
    said = _("{member} ({home}'s node) voted 'Going', as a Mastodon user would")
    demo.detail(said.format(member=voter, home=home))

    async def counted() -> tuple[bool, str]:
        rows = await _json(demo, where, "commitments", "--as", voter, "--json")
        states = [r.get("state") for r in rows if isinstance(r, dict) and r.get("call") == call]
        seen = _("{member}'s commitment: {states}").format(
            member=voter, states=states or _("none yet")
        )
        return states == ["accepted"], seen

    await demo.until(_("{member}'s vote to be counted and answered").format(member=voter), counted)
    notes = await _json(demo, where, "notifications", "--as", voter, "--json")
    told = [n.get("text") for n in notes if isinstance(n, dict) and n.get("call") == call]
    said = _("{member} is told: {text}")
    demo.detail(said.format(member=voter, text=told[0] if told else _("(nothing yet)")))
    status, question = await demo.get(poll)
    if status == 200 and isinstance(question, dict):
        tally = {
            o.get("name"): o.get("replies", {}).get("totalItems")
            for o in question.get("oneOf", [])
            if isinstance(o, dict)
        }
        demo.detail(_("the poll now reads {tally}").format(tally=tally))


async def check_in(demo: Demo) -> None:
    """The first chapter's organiser checks its members in and counts the walk-ins."""
    chapter, walk_ins = CHECK_IN
    node, plan = demo.chapters[chapter], demo.plans[chapter]
    call = demo.local_calls[chapter]
    lines = await demo.run(
        node, "action", "checkin", call, "--as", plan.organiser, *plan.members,
        "--walk-ins", str(walk_ins),
    )  # fmt: skip
    came = lines[-1].strip()
    expected = len(plan.members) + walk_ins
    if came != str(expected):
        raise DemoError(
            N_("`action checkin` counted {came} people, not {expected}"),
            came=came,
            expected=expected,
        )
    said = _(
        "{organiser} checked in {members} and {walk_ins} walk-ins: {came} came (the report "
        "will say so, counted)"
    )
    demo.detail(
        said.format(
            organiser=plan.organiser,
            members=", ".join(plan.members),
            walk_ins=number(walk_ins),
            came=came,
        )
    )


async def reminder(demo: Demo) -> None:
    """The evening call's participant here is reminded before it starts, once."""
    chapter, member, _minutes = REMINDER
    node, call = demo.chapters[chapter], demo.evening_call

    async def reminded() -> tuple[bool, str]:
        notes = await _json(demo, node, "notifications", "--as", member, "--json")
        found = [n for n in notes if isinstance(n, dict) and n.get("kind") == "reminder"]
        seen = _("{count} reminder(s)").format(count=len(found))
        return len(found) == 1 and found[0].get("call") == call, seen

    what = _("{member} to be reminded of the evening call").format(member=member)
    await demo.until(what, reminded, limit=120)
    notes = await _json(demo, node, "notifications", "--as", member, "--json")
    text = next(n.get("text") for n in notes if n.get("kind") == "reminder")
    demo.detail(_("{member}'s notifications: {text}").format(member=member, text=text))
