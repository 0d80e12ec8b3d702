"""What a call's page shows once the call is over: how many came, and its impact report.

Before its end a page invites people ("3 of 30 people are coming", an RSVP button); after it,
inviting is wrong (RSVPs are closed, node/features/calls/rsvp.py) and the numbers that matter
are who came and what the chapter reported. "Came" is the count of the organisers' check-in
(node/features/calls/attendance.py: only the number is public), or, when they recorded none,
the participants the call had when it ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from node.features.calls.attendance import came_count
from node.features.impact.chapter_impact import live_report
from node.runtime.services import Services
from protocol.errors import MalformedDocument
from protocol.events import ActionCall
from protocol.impact import json_number, parse_report


@dataclass(frozen=True, slots=True)
class ReportView:
    id: str
    text: str
    metrics: list[dict[str, object]]


@dataclass(frozen=True, slots=True)
class PastCall:
    came: int
    report: ReportView | None


async def past_call(services: Services, call: ActionCall, now: datetime) -> PastCall | None:
    """The past part of the page of ``call`` (one of ours), or ``None`` while it has not ended
    or when it was cancelled (nobody came to a cancelled call)."""
    if call.cancelled or call.end > now:
        return None
    came = await came_count(services, call.id)
    return PastCall(
        came if came is not None else call.participant_count, await _report(services, call.id)
    )


async def _report(services: Services, call_id: str) -> ReportView | None:
    row = await live_report(services, call_id)
    if row is None:
        return None
    try:
        report = parse_report(row.document, allow_http=services.settings.allow_http)
    except MalformedDocument:  # a stored report that no longer parses is left off the page
        return None
    metrics: list[dict[str, object]] = [
        {
            "metric": m.metric.replace("_", " "),
            "value": json_number(m.value),
            "unit": m.unit,
            "method": m.method,
        }
        for m in report.measures
    ]
    return ReportView(row.ap_id, report.content, metrics)
