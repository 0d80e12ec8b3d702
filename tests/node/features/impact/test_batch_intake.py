"""A batch of received reports ends exactly as the same reports counted one at a time.

Two identical nodes take the same mixed sequence of reports (every outcome, duplicates within
the batch, a newer and an older version of one report, a second report replacing the first on
its call, a unit converted, an excluded chapter, two campaigns): one report per transaction on
the first, all in one ``apply_reports`` call on the second. Outcomes and every row the intake
keeps (reports, contributions, campaign totals and states, chapter sums) must be the same.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, select

from bench.aggregate_world import (
    STARTED,
    T0,
    Chapter,
    call_row,
    campaign_call,
    campaign_id,
    chapter_call,
    chapter_id,
    measures,
    report_doc,
    seed,
)
from node.features.impact.batch_intake import ReportItem, apply_reports
from node.features.impact.intake import Incoming, apply_report, ingest, ingest_many, retract
from node.features.impact.proof_batch import ProofPool
from node.runtime.services import Services
from protocol.actors import parse_actor
from protocol.errors import ProofError, ProtocolError
from protocol.impact import Measure, parse_report
from protocol.proofs import jcs_sha256
from storage.models import (
    ActionCall,
    CampaignExclusion,
    CampaignState,
    CampaignTotal,
    ChapterTotal,
    Contribution,
    Follow,
    ImpactReport,
)
from storage.models.follow import ACCEPTED
from storage.repositories import actors as actor_repo
from storage.repositories import chapter_totals
from tests.node.features.impact.conftest import MakeServices

CAMPAIGNS = ("climate", "rivers")


def _item(doc: dict[str, Any], via: str | None = None) -> ReportItem:
    report = parse_report(doc, allow_http=True)
    return ReportItem(report, doc, via or report.chapter)


def _doc(
    chapter: Chapter, i: int, hours: int, values: tuple[Measure, ...], call: str | None = None
) -> dict[str, Any]:
    doc = report_doc(chapter, i, STARTED + timedelta(hours=hours), values, signed=False)
    if call is not None:
        doc["chapterhouse:reportOf"] = doc["inReplyTo"] = call
    return doc


async def _world(services: Services) -> list[Chapter]:
    """Chapters 0-3 members (0, 2 of climate; 1, 3 of rivers); 8 followed by a local actor
    but a member of nothing; 9 a stranger. Chapter 0 also has a call that has not started;
    rivers excludes chapter 3; a report held of another actor on chapter 0's origin; report
    0/1 counted before the batch, report 0/5 retracted before it."""
    chapters = await seed(services.db, 4, CAMPAIGNS)
    async with services.db.write() as session:
        for n in (8, 9):
            await session.execute(
                insert(ActionCall),
                [call_row(chapter_call(n), chapter_id(n), None, campaign_call("climate"))],
            )
        later = call_row(
            f"{chapter_id(0)}/actions/later",
            chapter_id(0),
            None,
            campaign_call("climate"),
            T0 + timedelta(days=2),
        )
        await session.execute(insert(ActionCall), [later])
        await session.execute(
            insert(Follow),
            [
                {
                    "activity_id": f"{NODE_FOLLOW}/8",
                    "follower": campaign_id("climate"),
                    "target": chapter_id(8),
                    "follower_inbox": None,
                    "state": ACCEPTED,
                    "created_at": STARTED,
                    "updated_at": STARTED,
                }
            ],
        )
        session.add(
            CampaignExclusion(
                campaign_id=(await _campaign_ids(session))[campaign_id("rivers")],
                target=chapter_id(3),
                reason="double counting",
                created_at=STARTED,
            )
        )
        session.add(
            ImpactReport(
                ap_id=f"{chapter_id(0)}/reports/theirs",
                chapter="https://c0.example/actors/other",
                call=chapter_call(0),
                local_actor_id=None,
                document={},
                version=STARTED,
                retracted=False,
                sha256="1" * 64,
                received_at=STARTED,
            )
        )
    async with services.db.write() as session:
        first = _doc(chapters[0], 1, 1, measures(10, Decimal("2.5")))
        assert (
            await apply_report(session, services, parse_report(first), first, chapter_id(0))
            == "counted"
        )
        await retract(session, services, f"{chapter_id(0)}/reports/{5:08d}", chapter_id(0))
    return chapters


NODE_FOLLOW = "https://node.example/follows"


async def _campaign_ids(session: Any) -> dict[str, int]:
    rows = await session.execute(
        select(ActionCall.chapter, ActionCall.local_actor_id).where(
            ActionCall.local_actor_id.is_not(None)
        )
    )
    return {chapter: local_id for chapter, local_id in rows}


def _batch(chapters: list[Chapter]) -> tuple[list[ReportItem], list[str]]:
    c0, c1, c2, c3 = chapters
    stranger, followed = Chapter(9, "climate", c0.key), Chapter(8, "climate", c0.key)
    theirs = _doc(c0, 0, 2, measures(1, Decimal(1)))
    theirs["id"] = f"{chapter_id(0)}/reports/theirs"
    items = [
        (
            _doc(c0, 2, 2, measures(1, Decimal(1)), call=f"{chapter_id(0)}/actions/unknown"),
            "unknown_call",
        ),
        (
            _doc(c0, 3, 2, measures(1, Decimal(1)), call=f"{chapter_id(0)}/actions/later"),
            "not_started",
        ),
        (_doc(c2, 4, 2, measures(1, Decimal(1)), call=chapter_call(0)), "foreign_call"),
        (_doc(stranger, 1, 2, measures(7, Decimal(7))), "not_a_member"),
        (theirs, "not_owner"),
        (_doc(c0, 5, 2, measures(1, Decimal(1))), "retracted"),
        (_doc(followed, 1, 2, measures(3, Decimal(3))), "unchanged"),  # kept, counted nowhere
        (_doc(c0, 1, 5, measures(30, Decimal("4.25"))), "counted"),  # a newer version
        (_doc(c0, 1, 3, measures(20, Decimal(4))), "unchanged"),  # older than the one before
        (_doc(c0, 1, 5, measures(30, Decimal("4.25"))), "unchanged"),  # the same again
        (_doc(c1, 1, 1, measures(5, Decimal(1))), "counted"),  # rivers
        (_doc(c1, 1, 1, measures(5, Decimal(1))), "unchanged"),
        (_doc(c2, 1, 1, measures(8, Decimal(2))), "counted"),
        (
            _doc(
                c2,
                2,
                2,
                (
                    Measure("participants", "people", Decimal(9)),
                    Measure("kg_litter", "g", Decimal(1500)),
                ),
            ),
            "counted",
        ),  # replaces 2/1 on the call, in kg
        (_doc(c2, 1, 2, measures(99, Decimal(99))), "unchanged"),  # 2/2 is as new: stays out
        (_doc(c3, 1, 1, measures(4, Decimal(4))), "counted"),  # rivers excludes chapter 3
        (_doc(c3, 1, 4, measures(6, Decimal(6))), "counted"),
    ]
    return [_item(doc) for doc, _ in items], [outcome for _, outcome in items]


async def _state(services: Services) -> dict[str, list[tuple[Any, ...]]]:
    tables = {
        "reports": select(ImpactReport).order_by(ImpactReport.id),
        "contributions": select(Contribution).order_by(Contribution.id),
        "campaign_totals": select(CampaignTotal).order_by(CampaignTotal.id),
        "chapter_totals": select(ChapterTotal).order_by(ChapterTotal.chapter, ChapterTotal.metric),
        "states": select(CampaignState).order_by(CampaignState.campaign_id),
    }
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with services.db.read() as session:
        for name, stmt in tables.items():
            rows = (await session.execute(stmt.with_only_columns(*stmt.selected_columns))).all()
            # Running sums are compared by key: their surrogate ids follow the order keys were
            # first met (one by one) or sorted (a batch), which nothing reads.
            out[name] = (
                sorted(tuple(row)[1:] for row in rows)
                if name.endswith("totals")
                else [tuple(row) for row in rows]
            )
    return out


async def test_a_batch_ends_as_the_same_reports_counted_one_by_one(make_services: MakeServices):
    one_by_one, batched = await make_services(), await make_services()
    items, expected = _batch(await _world(one_by_one))
    _batch(await _world(batched))  # the same world (keys differ: these documents carry none)

    outcomes = []
    for item in items:
        async with one_by_one.db.write() as session:
            outcomes.append(await apply_reports(session, one_by_one, [item]))
    async with batched.db.write() as session:
        together = await apply_reports(session, batched, items)

    assert [o for (o,) in outcomes] == expected
    assert together == expected
    first, second = await _state(one_by_one), await _state(batched)
    for table in first:
        assert first[table] == second[table], table
    assert len(first["contributions"]) == 4  # 0/1, 1/1, 2/2 (took 2/1's row), 3/1
    async with batched.db.read() as session:
        ids = await _campaign_ids(session)
    totals = {(r[0], r[1], r[2], r[3]): Decimal(r[4]) for r in first["campaign_totals"]}
    climate, rivers = ids[campaign_id("climate")], ids[campaign_id("rivers")]
    assert totals[(climate, "", "participants", "people")] == 30 + 9  # 0/1 and 2/2
    assert totals[(climate, "", "kg_litter", "kg")] == Decimal("4.25") + Decimal("1.5")
    assert totals[(rivers, "", "participants", "people")] == 5  # chapter 3 excluded


async def _signed_world(services: Services) -> list[Chapter]:
    """Member chapters whose keys the node holds; a refetch of their actor documents (after a
    proof failed with the cached key) gets the same documents, as from their origins."""
    chapters = await seed(services.db, 24, CAMPAIGNS)

    async def fetch_actor(actor_id: str) -> Any:
        async with services.db.read() as session:
            row = await actor_repo.remote_actor(session, actor_id)
        assert row is not None
        return parse_actor(row.document)

    services.resolver.fetch_actor = fetch_actor  # type: ignore[method-assign]
    return chapters


def _signed(chapter: Chapter, i: int, hours: int, people: int) -> dict[str, Any]:
    when = STARTED + timedelta(hours=hours)
    return report_doc(chapter, i, when, measures(people, Decimal(1)), signed=True)


@pytest.mark.parametrize("workers", [0, 1])
async def test_one_bad_report_in_a_relayed_batch_spoils_none_of_the_others(
    make_services: MakeServices, workers: int
):
    services = await make_services()
    c0, c1, c2, c3, *others = await _signed_world(services)
    tampered = _signed(c1, 1, 1, 5)
    tampered["chapterhouse:metrics"][0]["value"] = 5000  # type: ignore[index]
    malformed = _signed(c2, 1, 1, 5)
    del malformed["chapterhouse:metrics"]
    borrowed = _signed(c3, 1, 1, 5)
    borrowed["proof"] = _signed(c0, 9, 1, 5)["proof"]  # chapter 0's proof on chapter 3's report
    good = [_signed(c, 1, 1, 1) for c in [c0, *others]]  # enough to be sent to the pool
    docs = [good[0], tampered, malformed, borrowed, *good[1:], _signed(c3, 2, 1, 7)]
    pool = ProofPool(workers)
    try:
        results = await ingest_many(
            services,
            [Incoming(doc, "https://relay.example/actor", relayed=True) for doc in docs],
            pool,
        )
    finally:
        pool.close()
    assert results[0] == "counted"
    assert isinstance(results[1], ProofError) and "invalid_proof" in str(results[1])
    assert isinstance(results[2], ProtocolError) and not isinstance(results[2], ProofError)
    assert isinstance(results[3], ProofError) and "not by" in str(results[3])
    assert results[4:] == ["counted"] * 21
    async with services.db.read() as session:
        held = set(await session.scalars(select(ImpactReport.ap_id)))
        sums = await chapter_totals.of_chapter(session, chapter_id(0))
    assert tampered["id"] not in held and borrowed["id"] not in held
    assert sums == {("participants", "people"): 1, ("kg_litter", "kg"): 1}
    # The stored hash is the whole document's (proof included), computed with the proof check.
    async with services.db.read() as session:
        sha = await session.scalar(
            select(ImpactReport.sha256).where(ImpactReport.ap_id == good[0]["id"])
        )
    assert sha == jcs_sha256(good[0])


async def test_a_single_relayed_report_with_a_bad_proof_is_refused_with_a_proof_error(
    make_services: MakeServices,
):
    services = await make_services()
    c0, *_ = await _signed_world(services)
    doc = _signed(c0, 1, 1, 5)
    doc["content"] = "edited by the relay"
    with pytest.raises(ProofError):
        await ingest(services, doc, via="https://relay.example/actor", relayed=True)
    assert (
        await ingest(services, _signed(c0, 1, 1, 5), via="https://r.example/a", relayed=True)
        == "counted"
    )
