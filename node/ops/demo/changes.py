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
        raise DemoError(f"GET {url} answered {status}")
    return doc


async def _commitment(demo: Demo, node: DemoNode, member: str, call: str) -> dict[str, Any]:
    """``chapterhouse commitments --as MEMBER --json``: the member's commitment to ``call``."""
    lines = await demo.run(node, "commitments", "--as", member, "--json")
    items = json.loads("\n".join(lines))
    found = [c for c in items if isinstance(c, dict) and c.get("call") == call]
    if not found:
        raise DemoError(f"{member} on {node.name} has no commitment to {call}")
    return found[0]


async def move_call(demo: Demo) -> None:
    """The campaign moves its call; each adopted call follows, and so does a commitment."""
    doc = await _document(demo, demo.call)
    start, end = _instant(doc.get("startTime")), _instant(doc.get("endTime"))
    if start is None or end is None:
        raise DemoError(f"{demo.call} has no start and end")
    later = timedelta(minutes=MOVE_BY_MINUTES)
    start, end = (start + later).astimezone(LONDON), (end + later).astimezone(LONDON)
    await demo.run(
        demo.campaign,
        "action", "update", demo.call, "--as", CAMPAIGN_ORGANISER,
        "--start", start.isoformat(), "--end", end.isoformat(),
    )  # fmt: skip
    demo.detail(f"{CAMPAIGN_ORGANISER} moved the call {MOVE_BY_MINUTES} minutes later")

    async def followed() -> tuple[bool, str]:
        moved = []
        for name, call in demo.local_calls.items():
            if _instant((await _document(demo, call)).get("startTime")) == start:
                moved.append(name)
        done = len(moved) == len(demo.local_calls)
        return done, f"moved: {', '.join(moved) or 'no adopted call yet'}"

    await demo.until("every adopted call to take the campaign's new time", followed)
    for name, call in demo.local_calls.items():
        summary = (await _document(demo, call)).get("summary")
        demo.detail(f"{name:<12} its call now reads: {summary}")

    home, visitor, away = VISITOR
    node, call = demo.chapters[home], demo.local_calls[away]

    async def seen() -> tuple[bool, str]:
        found = await _commitment(demo, node, visitor, call)
        return _instant(found.get("start")) == start, f"her commitment starts {found.get('start')}"

    await demo.until(f"{visitor}'s commitment to show the new time", seen)
    found = await _commitment(demo, node, visitor, call)
    demo.detail(
        f"{visitor} ({home}'s node) sees her commitment to {away}'s call move: "
        f"{found.get('summary')} ({found.get('state')})"
    )


async def cancel_call(demo: Demo) -> None:
    """A chapter cancels its call; everyone who RSVPed sees it cancelled, with the reason."""
    name, reason = CANCELLATION
    node, organiser, call = demo.chapters[name], demo.plans[name].organiser, demo.local_calls[name]
    await demo.run(node, "action", "cancel", call, "--as", organiser, "--reason", reason)
    demo.detail(f"{organiser} cancelled {name}'s call: {reason}")
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
        return done, f"{states.count('cancelled')}/{len(told)} commitments show cancelled"

    await demo.until("everyone who RSVPed to see the call cancelled", everyone_told)
    for where, member in told:
        found = await _commitment(demo, where, member, call)
        demo.detail(
            f"{member} ({where.name}'s node) sees: {found.get('title')}: "
            f"{found.get('state')} ({found.get('reason')})"
        )
    status, page = await demo.request("GET", call, accept="text/html")
    if status != 200 or not isinstance(page, str) or "This action call is cancelled." not in page:
        raise DemoError(f"the page of {call} does not say it is cancelled (answered {status})")
    if "people are coming" in page or f'action="{call}/rsvp"' in page:
        raise DemoError(f"the page of the cancelled call {call} still offers to take part")
    demo.detail(f"its page says it is cancelled, with the reason, and offers no RSVP: {call}")
