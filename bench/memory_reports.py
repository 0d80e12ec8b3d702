"""The large node's impact reports (``bench.memory``): what a chapter page sums up.

Issue 17: a large node that holds no reports hides what a chapter page costs. This seeds
``total`` reports, bulk-inserted with SQLAlchemy Core ``executemany``:

* the node's own chapter reports once on every call of it that has started (one live report
  per call, as the node allows), up to ``total``: the chapter whose page is measured;
* the rest were received from other chapters (``REMOTE_PER_CHAPTER`` each, on calls of their
  own, on the same peer hosts as the received activities).

Every ``RETRACT_EVERY``-th report is retracted (kept, out of every sum). The documents are what
the node stores: ``build_report`` with one to four measures (participants, litter in kg with
decimals, trees, km walked) and an eddsa-jcs-2022 proof. Signing 100,000 documents would take
over a minute, so one template report of the chapter is signed with its key and the others
carry that proof, re-addressed to their chapter's key (nothing on the pages verifies it); the
``sha256`` is of the sorted compact JSON, as JCS gives for these documents.

The chapters' running sums (``chapter_totals``, migration 0013) are seeded with them: each
chapter's live reports by metric and unit, from the values as parsed back from the documents
(as the migration and the intake compute them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.impact import ImpactReport, Measure, build_report, parse_measures
from protocol.keys import private_key_from_pem
from protocol.proofs import create_proof

REMOTE_PER_CHAPTER = 100
RETRACT_EVERY = 50
BATCH = 10_000

Call = tuple[str, datetime, datetime]  # a call's IRI, start and end


@dataclass(frozen=True, slots=True)
class Seeded:
    reports: int  # impact reports held in all
    chapter_reports: int  # the measured chapter's
    chapter_live: int  # ...not retracted
    remote_chapters: int
    totals: int  # chapter_totals rows


def measures(n: int) -> tuple[Measure, ...]:
    """One to four measures, varied by ``n`` (always participants)."""
    out = [Measure("participants", "people", Decimal(5 + n * 7919 % 120))]
    if n % 3:
        out.append(Measure("litter_collected", "kg", Decimal(f"{n * 37 % 400}.{n % 10}")))
    if n % 4 == 0:
        out.append(Measure("trees_planted", "trees", Decimal(n * 13 % 60), "estimated"))
    if n % 5 == 0:
        out.append(Measure("distance_walked", "km", Decimal(f"{n % 25}.25"), "self_reported"))
    return tuple(out)


def published_at(call: Call, now: datetime) -> datetime:
    """Reported two hours after the call ended (or now, for a call still running)."""
    return min(call[2] + timedelta(hours=2), now)


def document(
    report_id: str, chapter: str, call: Call, n: int, proof: dict[str, Any], now: datetime
) -> dict[str, object]:
    call_id, start, end = call
    report = ImpactReport(
        id=report_id,
        chapter=chapter,
        call=call_id,
        measures=measures(n),
        published=published_at(call, now),
        content=f"Action {n}: thank you all! Figures below.",
        period_start=start,
        period_end=end,
    )
    doc = build_report(report, cc=[f"{chapter}/followers"])
    doc["proof"] = {
        **proof,
        "verificationMethod": f"{chapter}#ed25519-key",
        "created": doc["published"],
    }
    return doc


def remote_calls(now: datetime, chapter: str, count: int) -> list[Call]:
    first = now - timedelta(days=7 * count)
    return [
        (f"{chapter}/actions/c{k:04d}", start, start + timedelta(hours=3))
        for k in range(count)
        for start in [first + timedelta(days=7 * k)]
    ]


def report_rows(
    chapter: Any, started: list[Call], total: int, now: datetime, proof: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """The rows of ``impact_reports``: the chapter's first, then the other chapters'."""
    local = min(total, len(started))
    calls: list[Call] = []
    for n in range(total):
        if n < local:
            who, actor_id, call = chapter.ap_id, chapter.id, started[n]
            report_id = f"{who}/reports/r{n:07d}"
        else:
            r, k = divmod(n - local, REMOTE_PER_CHAPTER)
            who, actor_id = f"https://peer{r % 4999}.example/actors/chapter{r}", None
            if k == 0:
                calls = remote_calls(now, who, REMOTE_PER_CHAPTER)
            call = calls[k]
            report_id = f"{who}/reports/r{k:04d}"
        doc = document(report_id, who, call, n, proof, now)
        raw = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
        published = published_at(call, now)
        yield {
            "ap_id": report_id,
            "chapter": who,
            "call": call[0],
            "local_actor_id": actor_id,
            "document": raw,
            "version": published,
            "retracted": n % RETRACT_EVERY == RETRACT_EVERY - 1,
            "sha256": hashlib.sha256(raw).hexdigest(),
            "received_at": published if actor_id is not None else published + timedelta(seconds=3),
        }


def template_proof(chapter: Any, started: list[Call], now: datetime) -> dict[str, Any]:
    """A real proof by the chapter's key over its first report (the others carry a copy)."""
    call = started[0] if started else (f"{chapter.ap_id}/actions/template", now, now)
    doc = document(f"{chapter.ap_id}/reports/template", chapter.ap_id, call, 0, {}, now)
    del doc["proof"]
    key = private_key_from_pem(chapter.ed25519_private_pem)
    assert isinstance(key, Ed25519PrivateKey)
    signed = create_proof(
        doc,
        key,
        verification_method=f"{chapter.ap_id}#ed25519-key",
        created=now,
    )
    proof = signed["proof"]
    assert isinstance(proof, dict)
    return proof


def fill_reports(
    engine: Any, chapter: Any, started: list[Call], total: int, now: datetime, progress: Any
) -> Seeded:
    """Insert ``total`` reports and the chapters' running sums; what was seeded."""
    from sqlalchemy import Table, insert

    from storage.models import ChapterTotal
    from storage.models import ImpactReport as ReportRow

    reports: Table = ReportRow.__table__  # type: ignore[assignment]
    totals: Table = ChapterTotal.__table__  # type: ignore[assignment]
    sums: dict[tuple[str, str, str], Decimal] = {}
    mine = live = 0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        with engine.begin() as conn:
            conn.execute(insert(reports), batch)
        progress.add(len(batch))
        batch.clear()

    for row in report_rows(chapter, started, total, now, template_proof(chapter, started, now)):
        if row["chapter"] == chapter.ap_id:
            mine += 1
        if not row["retracted"]:
            live += row["chapter"] == chapter.ap_id
            doc = orjson.loads(row["document"])
            for m in parse_measures(doc["chapterhouse:metrics"]):
                key = (row["chapter"], m.metric, m.unit)
                sums[key] = sums.get(key, Decimal(0)) + m.value
        batch.append(row)
        if len(batch) == BATCH:
            flush()
    if batch:
        flush()
    rows = [
        {"chapter": c, "metric": m, "unit": u, "value": str(v)} for (c, m, u), v in sums.items()
    ]
    with engine.begin() as conn:
        for start in range(0, len(rows), BATCH):
            conn.execute(insert(totals), rows[start : start + BATCH])
    remote = max(0, -(-(total - min(total, len(started))) // REMOTE_PER_CHAPTER))
    return Seeded(total, mine, live, remote, len(rows))
