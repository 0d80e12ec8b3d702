"""Migration 0013 fills the chapters' running sums from the live reports a node already holds:
a database at 0012 with reports, upgraded, shows the same figures it showed before."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, select, text

from protocol.impact import ImpactReport as Report
from protocol.impact import Measure, build_report
from storage.engine import open_database
from storage.migrate import migrate
from storage.models import ChapterTotal, ImpactReport
from tests.rig.database import fresh_database_url

T = datetime(2027, 4, 12, 12, 0, tzinfo=UTC)


def _report(chapter: str, n: int, values: dict[tuple[str, str], str]) -> dict[str, object]:
    measures = tuple(Measure(m, u, Decimal(v)) for (m, u), v in values.items())
    return build_report(
        Report(
            id=f"{chapter}/reports/{n}",
            chapter=chapter,
            call=f"{chapter}/actions/{n}",
            measures=measures,
            published=T,
        )
    )


async def test_upgrading_to_0013_sums_the_live_reports_held(tmp_path: Path):
    database = open_database(await fresh_database_url(tmp_path))
    a, b = "https://a.example/actors/chapter", "https://b.example/actors/chapter"
    held = [
        (a, 1, {("participants", "people"): "40", ("kg_litter", "kg"): "2.5"}, False),
        (a, 2, {("participants", "people"): "2", ("kg_litter", "kg"): "0.25"}, False),
        (a, 3, {("participants", "people"): "1000"}, True),  # retracted: not counted
        (b, 1, {("trees", "trees"): "7"}, False),
    ]
    try:
        await migrate(database.engine, "0012")
        async with database.engine.begin() as conn:
            table = ImpactReport.__table__  # its columns have not changed since 0012
            await conn.execute(
                insert(table),
                [
                    {
                        "ap_id": f"{chapter}/reports/{n}",
                        "chapter": chapter,
                        "call": f"{chapter}/actions/{n}",
                        "local_actor_id": None,
                        "document": _report(chapter, n, values),
                        "version": T,
                        "retracted": retracted,
                        "sha256": "0" * 64,
                        "received_at": T,
                    }
                    for chapter, n, values, retracted in held
                ]
                + [  # a document that no longer parses is left out, as the pages left it out
                    {
                        "ap_id": f"{b}/reports/broken",
                        "chapter": b,
                        "call": f"{b}/actions/broken",
                        "local_actor_id": None,
                        "document": {"type": "Note"},
                        "version": T,
                        "retracted": False,
                        "sha256": "0" * 64,
                        "received_at": T,
                    }
                ],
            )
            assert (await conn.execute(text("SELECT count(*) FROM impact_reports"))).scalar() == 5
        await migrate(database.engine)
        async with database.read() as session:
            rows = (
                await session.execute(
                    select(
                        ChapterTotal.chapter,
                        ChapterTotal.metric,
                        ChapterTotal.unit,
                        ChapterTotal.value,
                    )
                )
            ).all()
    finally:
        await database.dispose()
    assert {(c, m, u): Decimal(v) for c, m, u, v in rows} == {
        (a, "participants", "people"): Decimal(42),
        (a, "kg_litter", "kg"): Decimal("2.75"),
        (b, "trees", "trees"): Decimal(7),
    }
