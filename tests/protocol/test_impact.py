from datetime import UTC, datetime
from decimal import Decimal

import pytest

from protocol.errors import MalformedDocument, UnsupportedType
from protocol.impact import (
    ImpactReport,
    Measure,
    Rollup,
    Source,
    Total,
    add_values,
    build_report,
    build_rollup,
    delta,
    parse_report,
    parse_rollup,
    sum_reports,
)

T = datetime(2027, 4, 12, 17, tzinfo=UTC)
CHAPTER = "https://green.example/actors/greenpark"


def report(*measures: Measure, rid: str = "r1") -> ImpactReport:
    return ImpactReport(
        id=f"{CHAPTER}/reports/{rid}",
        chapter=CHAPTER,
        call=f"{CHAPTER}/actions/a",
        measures=measures,
        published=T,
    )


def test_report_round_trip_keeps_exact_decimals():
    original = report(
        Measure("kg_litter", "kg", Decimal("120.5")), Measure("participants", "people", Decimal(42))
    )
    parsed = parse_report(build_report(original))
    assert parsed.values() == {
        ("kg_litter", "kg"): Decimal("120.5"),
        ("participants", "people"): Decimal(42),
    }
    assert parsed.version == T


def test_adding_then_removing_reports_is_exact():
    totals: dict = {}
    values = [Decimal(repr(v)) for v in (0.1, 0.2, 0.3, 1.1, 2.2)]
    for v in values:
        add_values(totals, {("kg_litter", "kg"): v})
    for v in values:
        add_values(totals, {("kg_litter", "kg"): v}, -1)
    assert totals == {("kg_litter", "kg"): Decimal("0.0")}


def test_units_are_never_mixed():
    a = report(Measure("kg_litter", "kg", Decimal(10)), rid="a")
    b = report(Measure("kg_litter", "lb", Decimal(22)), rid="b")
    assert [(t.metric, t.unit, t.value) for t in sum_reports([a, b])] == [
        ("kg_litter", "kg", Decimal(10)),
        ("kg_litter", "lb", Decimal(22)),
    ]


def test_delta_of_a_correction():
    old = {("participants", "people"): Decimal(40), ("kg_litter", "kg"): Decimal(5)}
    new = {("participants", "people"): Decimal(42)}
    assert delta(old, new) == {
        ("participants", "people"): Decimal(2),
        ("kg_litter", "kg"): Decimal(-5),
    }
    assert delta(old, None) == {k: -v for k, v in old.items()}


@pytest.mark.parametrize("value", [-1, "42", None, True, float("nan"), 1e20])
def test_bad_values_are_refused(value):
    doc = build_report(report(Measure("participants", "people", Decimal(1))))
    doc["chapterhouse:metrics"][0]["value"] = value
    with pytest.raises(MalformedDocument):
        parse_report(doc)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"chapterhouse:metrics": []}, MalformedDocument),
        (
            {"chapterhouse:metrics": [{"metric": "Bad Name", "unit": "x", "value": 1}]},
            MalformedDocument,
        ),
        (
            {
                "chapterhouse:metrics": [
                    {"metric": "a", "unit": "x", "value": 1, "method": "guessed"}
                ]
            },
            MalformedDocument,
        ),
        (
            {
                "chapterhouse:metrics": [
                    {"metric": "a", "unit": "x", "value": 1},
                    {"metric": "a", "unit": "x", "value": 2},
                ]
            },
            MalformedDocument,
        ),
        ({"attributedTo": "https://elsewhere.example/actors/x"}, MalformedDocument),
        ({"type": "Article"}, UnsupportedType),
    ],
)
def test_malformed_reports_are_refused(change, error):
    doc = build_report(report(Measure("participants", "people", Decimal(1))))
    doc.update(change)
    with pytest.raises(error):
        parse_report(doc)


def test_rollup_round_trip():
    rollup = Rollup(
        id="https://hub.example/actors/climate/rollup",
        campaign="https://hub.example/actors/climate",
        rollup_of=("https://hub.example/actors/climate/actions/1",),
        totals=(Total("participants", "people", Decimal(42)),),
        sources=(Source(f"{CHAPTER}/reports/r1", CHAPTER, "a" * 64),),
        chapter_count=1,
        updated=T,
    )
    assert parse_rollup(build_rollup(rollup, content="x")) == rollup
