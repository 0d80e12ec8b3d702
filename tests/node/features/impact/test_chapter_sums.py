"""A chapter's page shows the running sums of its live reports (``chapter_totals``), kept by
every writer of a report: created, corrected, retracted, or received from a remote chapter.
The page reads the sums, never the reports; the sums always equal a fresh recount."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aiohttp
from sqlalchemy import select, update

from bench.aggregate_world import STARTED, chapter_id, measures, report_doc, seed
from node.features.actors.authz import principal_by_name
from node.features.calls.lifecycle import create_action
from node.features.impact.chapter_impact import chapter_impact
from node.features.impact.chapter_sums import add_change, stored_values
from node.features.impact.intake import apply_report, retract
from node.features.impact.reports import (
    create_report,
    parse_metric_args,
    retract_own_report,
    update_report,
)
from protocol.impact import parse_report
from storage.models import ImpactReport
from storage.repositories import chapter_totals
from tests.node.features.impact.conftest import MakeServices

NOW = datetime.now(UTC).replace(microsecond=0)
CALL = {
    "title": "Canal clean-up",
    "start": (NOW - timedelta(hours=2)).isoformat(),
    "end": (NOW + timedelta(hours=1)).isoformat(),
}


async def _impact_rows(base_url: str, name: str) -> list[tuple[str, str, str]]:
    url = f"{base_url}/actors/{name}"
    async with aiohttp.ClientSession() as http, http.get(url, headers={"Accept": "text/html"}) as r:
        assert r.status == 200
        page = await r.text()
    section = page.split('id="impact"', 1)[1].split("</section>", 1)[0]
    cells = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", section)
    return [(m, v, u) for m, v, u in cells]


async def test_the_chapter_page_follows_reports_created_corrected_and_retracted(nodes):
    node = await nodes()
    await node.chapter("greenpark")
    await node.member("olga", role="organiser", chapter="greenpark")
    services = node.services
    async with services.db.read() as session:
        olga = await principal_by_name(session, "olga")
    first = await create_action(services, olga, "greenpark", CALL)
    second = await create_action(services, olga, "greenpark", {**CALL, "title": "Park day"})
    args = ["participants=42:people", "kg_litter=120.5:kg"]
    report = await create_report(
        services, olga, first.ap_id, parse_metric_args(args, "counted"), None
    )
    await create_report(
        services, olga, second.ap_id, parse_metric_args(["participants=8:people"], "counted"), None
    )
    assert await _impact_rows(node.base_url, "greenpark") == [
        ("kg_litter", "120.5", "kg"),
        ("participants", "50", "people"),
    ]

    await update_report(
        services, olga, report.ap_id, parse_metric_args(["participants=40:people"], "counted"), None
    )
    assert await _impact_rows(node.base_url, "greenpark") == [("participants", "48", "people")]

    await retract_own_report(services, olga, report.ap_id)
    assert await _impact_rows(node.base_url, "greenpark") == [("participants", "8", "people")]

    # The page reads the sums, not the reports: a report's document changed behind the
    # intake's back does not show.
    async with services.db.write() as session:
        await session.execute(update(ImpactReport).values(document={}))
    assert await _impact_rows(node.base_url, "greenpark") == [("participants", "8", "people")]


async def test_a_remote_chapters_reports_are_summed_as_they_arrive_change_and_go(
    make_services: MakeServices,
):
    services = await make_services()
    (chapter,) = await seed(services.db, 1)
    v1 = report_doc(chapter, 1, STARTED, measures(10, Decimal("2.5")), signed=False)
    v2 = report_doc(
        chapter, 1, STARTED + timedelta(hours=1), measures(12, Decimal(3)), signed=False
    )
    for doc, expected in (
        (v1, [("kg_litter", "kg", 2.5), ("participants", "people", 10)]),
        (v2, [("kg_litter", "kg", 3), ("participants", "people", 12)]),
        (v1, [("kg_litter", "kg", 3), ("participants", "people", 12)]),  # older: no change
    ):
        async with services.db.write() as session:
            await apply_report(session, services, parse_report(doc), doc, chapter.actor)
        shown = await chapter_impact(services, chapter.actor)
        assert [(r["metric"], r["unit"], r["value"]) for r in shown] == expected
    async with services.db.write() as session:
        await retract(session, services, str(v1["id"]), chapter.actor)
    assert await chapter_impact(services, chapter.actor) == []


async def test_the_sums_equal_a_recount_after_a_mixed_sequence(make_services: MakeServices):
    services = await make_services()
    chapters = await seed(services.db, 3, calls_per_chapter=3)
    step = 0
    for round_ in range(3):
        for c in chapters:
            for i in range(3):
                step += 1
                when = STARTED + timedelta(minutes=step)
                doc = report_doc(
                    c, i, when, measures(step % 7, Decimal(step) / 4), signed=False, call=i
                )
                async with services.db.write() as session:
                    await apply_report(session, services, parse_report(doc), doc, c.actor)
        async with services.db.write() as session:  # one report of each chapter goes
            victim = f"{chapter_id(chapters[round_].n)}/reports/{round_:08d}"
            await retract(session, services, victim, chapters[round_].actor)
    recount: dict[tuple[str, str, str], Decimal] = {}
    async with services.db.read() as session:
        rows = await session.execute(
            select(ImpactReport.chapter, ImpactReport.document).where(
                ImpactReport.retracted.is_(False)
            )
        )
        for chapter, document in rows:
            add_change(recount, chapter, {}, stored_values(document))
        sums = await chapter_totals.all_sums(session)
    assert {k: v for k, v in sums.items() if v or k in recount} == recount
