"""Aggregation benchmark: report updates per second through the node's real intake path.

Each campaign size N is a migrated SQLite database where one campaign already counts N reports
by remote member chapters (20 per chapter, one per call; ``bench/aggregate_world.py``). The timed
work is new versions of random existing reports, each signed up front by its chapter's Ed25519
key (FEP-8b32 eddsa-jcs-2022, as ``sign_object`` makes them) and taken in as relayed copies by
``intake.ingest_many``: the report parsed, its proof checked against the key the chapter
publishes (keys kept between batches while the chapter's actor row is unchanged; verification
in the node's ``ProofPool`` of worker processes, ``proof_workers``), membership checked (the
chapter follows the campaign, accepted; its call adopts the campaign's), the report row, the contribution, the campaign totals and the chapter's running
sums adjusted, and the transaction committed (one per batch). The next batch's proofs are
checked while this batch is written (``start_incoming`` then ``count``, the steps of
``ingest_many``), and batches are counted in order. Every outcome must be ``counted``, and afterwards
the running sums must equal a recount.

Baseline, same run and same documents: **verify only**, the same proofs checked by the same pool
with nothing else (the ceiling of the proof step alone). Goal: at least 5,000 updates/s at every
size, and flat: every size within ±20% of the smallest. Rounds are interleaved across sizes and
the median is kept, so drift on a noisy machine affects every size alike.

    python -m bench.aggregate [--sizes 1000,10000,100000] [--updates 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.aggregate_world import (
    NODE,
    STARTED,
    T0,
    Chapter,
    measures,
    report_doc,
    seed,
    sign_reports,
)
from bench.results import Row, record
from node.features.impact.batch_intake import ReportItem, apply_reports
from node.features.impact.chapter_sums import add_change, stored_values
from node.features.impact.intake import Incoming, count, start_incoming
from node.features.impact.proof_batch import ProofPool
from node.runtime.app import build_services, settle_heap
from node.runtime.clock import FrozenClock
from node.runtime.config import Settings
from node.runtime.services import Services
from protocol.impact import parse_report
from protocol.keys import ed25519_private_from_multibase
from storage.engine import open_database, sqlite_url
from storage.migrate import migrate
from storage.models import Contribution, ImpactReport
from storage.repositories import chapter_totals as totals_repo
from storage.repositories.impact import decode_values, totals

REPORTS_PER_CHAPTER = 20
GOAL_RATE = 5_000.0
FLAT = 0.20
NOW = T0 + timedelta(days=20)  # the node's clock: versions are STARTED + seconds, all before


@dataclass
class Size:
    n: int
    services: Services
    chapters: list[Chapter]
    rng: random.Random
    clock: int = 0
    rates: list[float] = field(default_factory=list)
    verify_rates: list[float] = field(default_factory=list)


def _services(directory: Path, workers: int) -> Services:
    db = open_database(sqlite_url(str(directory / "node.db")))
    settings = Settings(data_dir=directory, base_url=NODE, proof_workers=workers)
    return build_services(settings, db, FrozenClock(NOW), "bench")


async def populate(n: int, directory: Path, batch: int, workers: int) -> Size:
    """A node whose campaign counts ``n`` reports (taken in through ``apply_reports``), with
    its own proof pool (``proof_workers``) as ``build_services`` makes it."""
    directory.mkdir()
    services = _services(directory, workers)
    await migrate(services.db.engine)
    chapters = await seed(
        services.db,
        max(1, -(-n // REPORTS_PER_CHAPTER)),
        calls_per_chapter=REPORTS_PER_CHAPTER,
        fetched_at=NOW,
    )
    rng = random.Random(n)
    items: list[ReportItem] = []
    for i in range(n):
        chapter = chapters[i // REPORTS_PER_CHAPTER]
        doc = report_doc(
            chapter,
            i,
            STARTED,
            measures(rng.randint(1, 200), Decimal(rng.randint(1, 999)) / 2),
            signed=False,
            call=i % REPORTS_PER_CHAPTER,
        )
        items.append(ReportItem(parse_report(doc), doc, chapter.actor))
        if len(items) == batch or i == n - 1:
            async with services.db.write() as session:
                outcomes = await apply_reports(session, services, items)
            if set(outcomes) != {"counted"}:
                raise RuntimeError(f"setup: {sorted(set(outcomes))}")
            items = []
    return Size(n, services, chapters, rng)


def update_jobs(size: Size, count: int) -> list[tuple[Any, ...]]:
    """``count`` new versions of random existing reports, each later than any before it."""
    jobs = []
    for _ in range(count):
        i = size.rng.randrange(size.n)
        size.clock += 1
        values = measures(size.rng.randint(1, 200), Decimal(size.rng.randint(1, 999)) / 2)
        when = STARTED + timedelta(seconds=size.clock)
        jobs.append(
            (size.chapters[i // REPORTS_PER_CHAPTER], i, when, values, i % REPORTS_PER_CHAPTER)
        )
    return jobs


async def sign(executor: ProcessPoolExecutor, jobs: list[tuple[Any, ...]]) -> list[Any]:
    loop = asyncio.get_running_loop()
    part = max(1, len(jobs) // 8)
    done = await asyncio.gather(
        *(
            loop.run_in_executor(executor, sign_reports, jobs[i : i + part])
            for i in range(0, len(jobs), part)
        )
    )
    return [doc for chunk in done for doc in chunk]


async def time_updates(size: Size, docs: list[Any], batch: int) -> float:
    """Updates per second through ``ingest_many``'s two steps, pipelined: the next batch is
    parsed, its keys found and its proofs sent to the node's pool (``start_incoming``), then
    this batch is counted and committed (``count``) while the pool checks them; batches are
    counted in order, as one worker would."""
    batches = [
        [Incoming(d, str(d["attributedTo"]), relayed=True) for d in docs[i : i + batch]]
        for i in range(0, len(docs), batch)
    ]
    bad: list[object] = []
    started = time.perf_counter()
    ahead = await start_incoming(size.services, batches[0])
    for following in [*batches[1:], None]:
        checked = await ahead.result()
        if following is not None:
            ahead = await start_incoming(size.services, following)
        bad.extend(r for r in await count(size.services, checked) if r != "counted")
    elapsed = time.perf_counter() - started
    if bad:
        raise RuntimeError(f"N={size.n}: {len(bad)} updates not counted, e.g. {bad[0]!r}")
    return len(docs) / elapsed


async def time_verify_only(size: Size, docs: list[Any], batch: int) -> float:
    """Proofs per second, the same documents and pool, nothing else (keys at hand)."""
    pool = size.services.proof_pool
    assert pool is not None
    keys = {
        c.actor: ed25519_private_from_multibase(c.key).public_key().public_bytes_raw()
        for c in size.chapters
    }
    jobs = [(d, keys[str(d["attributedTo"])]) for d in docs]
    batches = [jobs[i : i + batch] for i in range(0, len(jobs), batch)]
    skew = timedelta(hours=1)
    started = time.perf_counter()
    for part in batches:
        outcomes = await pool.verify(part, NOW, skew)
        if any(o[0] != "ok" for o in outcomes):
            raise RuntimeError("verify-only: a proof failed")
    return len(jobs) / (time.perf_counter() - started)


async def check_sums(size: Size) -> None:
    """The campaign totals and the chapters' running sums equal a recount of what is held."""
    async with size.services.db.read() as session:
        counted: dict[tuple[str, str], Decimal] = {}
        for values in await session.scalars(select(Contribution.values)):
            for key, value in decode_values(values).items():
                counted[key] = counted.get(key, Decimal(0)) + value
        campaign = await session.scalar(select(Contribution.campaign_id).limit(1))
        assert campaign is not None
        running = await totals(session, campaign)
        recount: dict[tuple[str, str, str], Decimal] = {}
        rows = await session.execute(select(ImpactReport.chapter, ImpactReport.document))
        for chapter, document in rows:
            add_change(recount, chapter, {}, stored_values(document))
        sums = await totals_repo.all_sums(session)
    if running != counted:
        raise RuntimeError(f"N={size.n}: campaign totals {running} != recount {counted}")
    if sums != recount:
        raise RuntimeError(f"N={size.n}: chapter sums differ from a recount")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    signer = ProcessPoolExecutor(max(1, os.cpu_count() or 1), mp_context=get_context("spawn"))
    built: list[Size] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            built.extend(
                [
                    await populate(n, Path(tmp) / f"n{n}", args.batch, args.workers)
                    for n in args.sizes
                ]
            )
            setup_s = time.perf_counter() - started
            settle_heap()  # the runtime tuning ``serve`` and ``worker`` apply once started
            per_round = max(1, args.updates // args.rounds)
            for size in built:  # warm-up: caches, pool processes, SQLite pages
                await time_updates(
                    size, await sign(signer, update_jobs(size, args.warmup)), args.batch
                )
            for _ in range(args.rounds):
                for size in built:
                    docs = await sign(signer, update_jobs(size, per_round))
                    size.verify_rates.append(await time_verify_only(size, docs, args.batch))
                    size.rates.append(await time_updates(size, docs, args.batch))
            for size in built:
                await check_sums(size)
                await size.services.db.dispose()
    finally:
        for size in built:
            if size.services.proof_pool is not None:
                size.services.proof_pool.close()
        signer.shutdown(cancel_futures=True)
    return {
        "setup_s": setup_s,
        "per_round": per_round,
        "rounds": args.rounds,
        "batch": args.batch,
        "workers": args.workers,
        "load": os.getloadavg(),
        "sizes": [
            (s.n, statistics.median(s.rates), statistics.median(s.verify_rates)) for s in built
        ],
    }


def print_table(r: dict[str, Any]) -> bool:
    sizes: list[tuple[int, float, float]] = r["sizes"]
    base_n, base, _ = sizes[0]
    print(
        f"report updates through the real intake path (proof, membership, totals, chapter sums, "
        f"committed), batches of {r['batch']}, proof pool of {r['workers']} process(es); median "
        f"of {r['rounds']} interleaved rounds of {r['per_round']} updates (setup {r['setup_s']:.1f} s)"
    )
    print(
        f"| reports held | updates/s | verify only (proofs/s) | ratio to verify only | ratio to {base_n:,} |"
    )
    print("|---|---|---|---|---|")
    # Met means the whole definition: this size at ≥ 5,000/s, and every size within ±20% of
    # the smallest (flatness is a property of the set, so one size off fails every row).
    flat_all = all(abs(rate / base - 1) <= FLAT for _, rate, _ in sizes)
    all_met = flat_all and all(rate >= GOAL_RATE for _, rate, _ in sizes)
    rows: list[Row] = []
    for n, rate, verify in sizes:
        print(f"| {n:,} | {rate:,.0f} | {verify:,.0f} | {rate / verify:.2f} | {rate / base:.2f} |")
        rows.append(
            Row(
                benchmark=f"aggregation, {n:,} reports held",
                measure=(
                    "report updates/s (relayed copies: proof checked, membership checked, "
                    "campaign totals and chapter sums adjusted, committed)"
                ),
                value=f"{rate:,.0f}/s",
                baseline=f"proof verification only {verify:,.0f}/s",
                ratio=f"{rate / verify:.0%} of verify only; {rate / base:.2f}× the {base_n:,} size",
                goal=f"≥ {GOAL_RATE:,.0f} updates/s, flat ±{FLAT:.0%}",
                met=rate >= GOAL_RATE and flat_all,
            )
        )
    load = r.get("load")
    if load:
        print(f"load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    print(
        f"\ngoal: ≥ {GOAL_RATE:,.0f} updates/s at every size, each within ±{FLAT:.0%} of the "
        f"{base_n:,} size: " + ("met" if all_met else "NOT met")
    )
    record(rows)
    return all_met


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000", help="reports held (first = base)")
    parser.add_argument("--updates", type=int, default=15_000, help="timed updates per size")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median kept)")
    parser.add_argument("--warmup", type=int, default=2_000, help="untimed updates per size")
    parser.add_argument("--batch", type=int, default=1_000, help="updates per transaction")
    parser.add_argument(
        "--workers",
        type=int,
        default=ProofPool.default_workers(),
        help="proof-checking processes (default: cores - 1; 0: in-process)",
    )
    args = parser.parse_args()
    try:
        args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated whole numbers, got {args.sizes!r}")
    if not args.sizes or any(n < 1 for n in args.sizes):
        parser.error("--sizes needs at least one positive size")
    if args.updates < 1 or args.rounds < 1 or args.warmup < 0 or args.batch < 1:
        parser.error("--updates, --rounds and --batch must be positive, --warmup not negative")
    os.environ.setdefault("CHAPTERHOUSE_LOG_LEVEL", "WARNING")
    print_table(asyncio.run(run(args)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
