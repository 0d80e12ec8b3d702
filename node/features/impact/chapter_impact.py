"""A chapter's own impact as its pages show it: the sums of its reports, and one call's report.

A campaign counts reports through its rollup (node/features/impact/aggregation.py); a chapter
has no rollup, so its page reads the running sums of the live reports held here
(``chapter_totals``, kept by every writer of a report: ``chapter_sums.py``), never the reports
themselves: a page view costs the same with ten reports or a hundred thousand. A metric whose
live reports sum to zero (all of them retracted, say) is not shown. The report form edits the
live report of a call, so it asks here for that report.
"""

from __future__ import annotations

from node.runtime.services import Services
from protocol.impact import json_number
from storage.models import ImpactReport
from storage.repositories import chapter_totals as totals_repo
from storage.repositories import impact as impact_repo


async def chapter_impact(services: Services, chapter: str) -> list[dict[str, object]]:
    """The totals of the chapter's live (not retracted) reports, by metric and unit."""
    async with services.db.read() as session:
        sums = await totals_repo.of_chapter(session, chapter)
    return [
        {"metric": m, "unit": u, "value": json_number(v)}
        for (m, u), v in sorted(sums.items())
        if v != 0
    ]


async def live_report(services: Services, call_id: str) -> ImpactReport | None:
    """The live report this node published for one of its calls, if any."""
    async with services.db.read() as session:
        rows = await impact_repo.local_live_reports_of_call(session, call_id)
    return rows[-1] if rows else None
