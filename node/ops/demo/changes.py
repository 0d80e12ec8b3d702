"""The day's last two steps: changes that reach the people they affect.

The campaign moves its call half an hour later: every chapter's adopted call follows (each
chapter left its time alone), and a member who RSVPed on another node sees her commitment move.
Then a chapter cancels its own call with a reason: its members, and the visitor on another node,
see their commitments cancelled, and the call's page stops offering to take part. Each step
waits for what a person would see (documents, ``commitments --json``, the page), never a sleep.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from node.interfaces.cli.words import N_, _, number
from node.ops.demo.errors import DemoError
from node.ops.demo.plan import (
    CAMPAIGN_ORGANISER,
    CANCELLATION,
    LONDON,
    MOVE_BY_MINUTES,
    VISITOR,
)

if TYPE_CHECKING:
    from node.ops.demo.day import Demo
    from node.ops.demo.nodes import DemoNode


def _instant(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


async def _document(demo: Demo, url: str) -> dict[str, Any]:
    status, doc = await demo.get(url)
    if status != 200 or not isinstance(doc, dict):
        raise DemoError(N_("GET {url} answered {answer}"), url=url, answer=status)
    return doc


async def _commitment(demo: Demo, node: DemoNode, member: str, call: str) -> dict[str, Any]:
    """``chapterhouse commitments --as MEMBER --json``: the member's commitment to ``call``."""
    lines = await demo.run(node, "commitments", "--as", member, "--json")
    items = json.loads("\n".join(lines))
    found = [c for c in items if isinstance(c, dict) and c.get("call") == call]
    if not found:
        raise DemoError(
            N_("{member} on {node} has no commitment to {call}"),
            member=member,
            node=node.name,
            call=call,
        )
    return found[0]


async def move_call(demo: Demo) -> None:
    """The campaign moves its call; each adopted call follows, and so does a commitment."""
    doc = await _document(demo, demo.call)
    start, end = _instant(doc.get("startTime")), _instant(doc.get("endTime"))
    if start is None or end is None:
        raise DemoError(N_("{call} has no start and end"), call=demo.call)
    later = timedelta(minutes=MOVE_BY_MINUTES)
    start, end = (start + later).astimezone(LONDON), (end + later).astimezone(LONDON)
    await demo.run(
        demo.campaign,
        "action", "update", demo.call, "--as", CAMPAIGN_ORGANISER,
        "--start", start.isoformat(), "--end", end.isoformat(),
    )  # fmt: skip
    said = _("{organiser} moved the call {minutes} minutes later")
    demo.detail(said.format(organiser=CAMPAIGN_ORGANISER, minutes=number(MOVE_BY_MINUTES)))

    async def followed() -> tuple[bool, str]:
        moved = []
        for name, call in demo.local_calls.items():
            if _instant((await _document(demo, call)).get("startTime")) == start:
                moved.append(name)
        done = len(moved) == len(demo.local_calls)
        return done, _("moved: {chapters}").format(
            chapters=", ".join(moved) or _("no adopted call yet")
        )

    await demo.until(_("every adopted call to take the campaign's new time"), followed)
    for name, call in demo.local_calls.items():
        summary = (await _document(demo, call)).get("summary")
        demo.detail(f"{name:<12} " + _("its call now reads: {summary}").format(summary=summary))

    home, visitor, away = VISITOR
    node, call = demo.chapters[home], demo.local_calls[away]

    async def seen() -> tuple[bool, str]:
        found = await _commitment(demo, node, visitor, call)
        starts = found.get("start")
        return _instant(starts) == start, _("her commitment starts {start}").format(start=starts)

    await demo.until(_("{member}'s commitment to show the new time").format(member=visitor), seen)
    found = await _commitment(demo, node, visitor, call)
    said = _(
        "{member} ({home}'s node) sees her commitment to {chapter}'s call move: {summary} ({state})"
    )
    demo.detail(
        said.format(
            member=visitor,
            home=home,
            chapter=away,
            summary=found.get("summary"),
            state=found.get("state"),
        )
    )


async def cancel_call(demo: Demo) -> None:
    """A chapter cancels its call; everyone who RSVPed sees it cancelled, with the reason."""
    name, reason = CANCELLATION
    node, organiser, call = demo.chapters[name], demo.plans[name].organiser, demo.local_calls[name]
    await demo.run(node, "action", "cancel", call, "--as", organiser, "--reason", reason)
    said = _("{organiser} cancelled {chapter}'s call: {reason}")
    demo.detail(said.format(organiser=organiser, chapter=name, reason=reason))
    home, visitor, away = VISITOR
    told = [(node, member) for member in demo.plans[name].members]
    if away == name:
        told.append((demo.chapters[home], visitor))

    async def everyone_told() -> tuple[bool, str]:
        states = []
        for where, member in told:
            rows = await demo.items(where, member, "/api/v1/commitments")
            states += [r.get("state") for r in rows if r.get("call") == call]
        done = states.count("cancelled") == len(told)
        seen = _("{done}/{total} commitments show cancelled")
        return done, seen.format(done=states.count("cancelled"), total=len(told))

    await demo.until(_("everyone who RSVPed to see the call cancelled"), everyone_told)
    said = _("{member} ({home}'s node) sees: {title}: {state} ({reason})")
    for where, member in told:
        found = await _commitment(demo, where, member, call)
        demo.detail(
            said.format(
                member=member,
                home=where.name,
                title=found.get("title"),
                state=found.get("state"),
                reason=found.get("reason"),
            )
        )
    status, page = await demo.request("GET", call, accept="text/html")
    if status != 200 or not isinstance(page, str) or "This action call is cancelled." not in page:
        raise DemoError(
            N_("the page of {call} does not say it is cancelled (answered {answer})"),
            call=call,
            answer=status,
        )
    if "people are coming" in page or f'action="{call}/rsvp"' in page:
        raise DemoError(
            N_("the page of the cancelled call {call} still offers to take part"), call=call
        )
    said = _("its page says it is cancelled, with the reason, and offers no RSVP: {call}")
    demo.detail(said.format(call=call))
