"""A chapter's own impact as its pages show it: the sums of its reports, and one call's report.

A campaign counts reports through its rollup (node/features/impact/aggregation.py); a chapter
has no rollup, so its page adds up the live reports it holds. A stored report that no longer
parses is left out of the sums rather than breaking the page. The report form edits the live
report of a call, so it asks here for that report.
"""

from __future__ import annotations

from decimal import Decimal

from node.runtime.services import Services
from protocol.errors import MalformedDocument
from protocol.impact import MetricKey, json_number, parse_report
from storage.models import ImpactReport
from storage.repositories import impact as impact_repo


async def chapter_impact(services: Services, chapter: str) -> list[dict[str, object]]:
    """The totals of the chapter's live (not retracted) reports, by metric and unit."""
    async with services.db.read() as session:
        reports = await impact_repo.live_reports_of_chapter(session, chapter)
    sums: dict[MetricKey, Decimal] = {}
    for report in reports:
        try:
            values = parse_report(report.document, allow_http=True).values()
        except MalformedDocument:
            continue
        for key, value in values.items():
            sums[key] = sums.get(key, 0) + value
    return [{"metric": m, "unit": u, "value": json_number(v)} for (m, u), v in sorted(sums.items())]


async def live_report(services: Services, call_id: str) -> ImpactReport | None:
    """The live report this node published for one of its calls, if any."""
    async with services.db.read() as session:
        rows = await impact_repo.local_live_reports_of_call(session, call_id)
    return rows[-1] if rows else None
