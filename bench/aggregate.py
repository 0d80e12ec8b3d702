"""Aggregation benchmark: the cost of one more report update as a campaign grows.

A campaign's totals are running sums (``node.features.impact.aggregation.count_report``): a newer version of a
report adjusts O(metrics) total rows, whatever the number of reports the campaign already counts.
This measures exactly that: one update of an existing report (``count_report`` with a later
``version``, in its own write unit of work like the inbox handler) when the campaign already
counts N reports, for several N. The existing contributions and totals are bulk-inserted with
SQLAlchemy Core, not through ``count_report``, so setup stays quick.

Baselines measured in the same run, on the same machine:

* the smallest N (1,000 by default): flat cost means each size's ratio stays within ±20%;
* ``empty write``: a write unit of work that does nothing (``BEGIN IMMEDIATE`` + commit).

Rounds are interleaved across the sizes (and the empty write) and each row reports the median
round, so drift on a noisy machine affects every size alike. Ratios, not absolute times, are
comparable across machines.

    python -m bench.aggregate [--sizes 1000,10000,100000] [--updates 2000] [--rounds 5]
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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert

from bench.results import Row, record
from node.features.impact.aggregation import count_report
from protocol.impact import ImpactReport, Measure
from storage.engine import Database, open_database, sqlite_url
from storage.migrate import migrate
from storage.models import CampaignState, CampaignTotal, Contribution, LocalActor
from storage.repositories.impact import CAMPAIGN_WIDE, encode_values

ORIGIN = "https://campaign.example"
CAMPAIGN = f"{ORIGIN}/actors/climate"
REPORTS_PER_CHAPTER = 20
BATCH = 10_000
T0 = datetime(2027, 4, 12, 12, 0, tzinfo=UTC)
GOAL = 0.20  # flat within ±20% of the smallest size


def chapter_of(i: int) -> str:
    return f"https://c{i // REPORTS_PER_CHAPTER}.example/actors/chapter"


def report_id(i: int) -> str:
    return f"{chapter_of(i)}/reports/{i:08d}"


def measures(participants: int, kg: Decimal) -> tuple[Measure, ...]:
    return (
        Measure("participants", "people", Decimal(participants)),
        Measure("kg_litter", "kg", kg),
    )


@dataclass
class Size:
    """One database whose campaign already counts ``n`` reports."""

    n: int
    db: Database
    campaign: LocalActor
    rng: random.Random
    clock: int = 0  # seconds after T0 of the newest version handed out so far
    per_update_s: list[float] = field(default_factory=list)  # one entry per round


async def populate(n: int, directory: Path) -> Size:
    """A migrated SQLite file with one campaign that counts ``n`` reports (bulk-inserted)."""
    db = open_database(sqlite_url(str(directory / f"n{n}.db")))
    await migrate(db.engine)
    rng = random.Random(n)
    async with db.write() as session:
        campaign = LocalActor(
            name="climate",
            ap_id=CAMPAIGN,
            actor_type="Group",
            kind="campaign",
            title="Climate Day",
            summary=None,
            manually_approves_followers=False,
            rsa_private_pem="-",
            rsa_public_pem="-",
            ed25519_private_pem="-",
            ed25519_public_multibase="-",
            created_at=T0,
        )
        session.add(campaign)
        await session.flush()
        session.add(CampaignState(campaign_id=campaign.id, dirty=False))
        totals: dict[tuple[str, str, str], Decimal] = {}
        rows: list[dict[str, object]] = []
        for i in range(n):
            drawn = measures(rng.randint(1, 200), Decimal(rng.randint(1, 999)) / 2)
            values = {m.key: m.value for m in drawn}
            for (metric, unit), value in values.items():
                for scope in (CAMPAIGN_WIDE, chapter_of(i)):
                    key = (scope, metric, unit)
                    totals[key] = totals.get(key, Decimal(0)) + value
            rows.append(
                {
                    "campaign_id": campaign.id,
                    "report": report_id(i),
                    "chapter": chapter_of(i),
                    "call": f"{chapter_of(i)}/actions/day",
                    "values": encode_values(values),
                    "version": T0,
                    "sha256": f"{i:064x}",
                    "retracted": False,
                    "via": chapter_of(i),
                    "counted_at": T0,
                }
            )
            if len(rows) == BATCH:
                await session.execute(insert(Contribution), rows)
                rows = []
        if rows:
            await session.execute(insert(Contribution), rows)
        total_rows = [
            {
                "campaign_id": campaign.id,
                "chapter": scope,
                "metric": metric,
                "unit": unit,
                "value": str(value),
            }
            for (scope, metric, unit), value in totals.items()
        ]
        for start in range(0, len(total_rows), BATCH):
            await session.execute(insert(CampaignTotal), total_rows[start : start + BATCH])
    return Size(n, db, campaign, rng)


def next_updates(size: Size, count: int) -> list[ImpactReport]:
    """``count`` new versions of random existing reports, each later than any before it."""
    out = []
    for _ in range(count):
        i = size.rng.randrange(size.n)
        size.clock += 1
        out.append(
            ImpactReport(
                id=report_id(i),
                chapter=chapter_of(i),
                call=f"{chapter_of(i)}/actions/day",
                measures=measures(size.rng.randint(1, 200), Decimal(size.rng.randint(1, 999)) / 2),
                published=T0,
                updated=T0 + timedelta(seconds=size.clock),
            )
        )
    return out


async def time_updates(size: Size, count: int) -> float:
    """Seconds per update: ``count_report`` of a newer version, one unit of work each."""
    updates = next_updates(size, count)
    sha = "f" * 64
    started = time.perf_counter()
    for report in updates:
        async with size.db.write() as session:
            moved = await count_report(
                session, size.campaign, report, sha, report.chapter, report.version
            )
        if not moved:
            raise RuntimeError(f"update of {report.id} did not count")
    return (time.perf_counter() - started) / count


async def time_empty_writes(db: Database, count: int) -> float:
    """Seconds per empty write unit of work (BEGIN IMMEDIATE, then commit)."""
    started = time.perf_counter()
    for _ in range(count):
        async with db.write() as session:
            await session.connection()  # starts the transaction: BEGIN IMMEDIATE
    return (time.perf_counter() - started) / count


async def check_totals(size: Size) -> None:
    """The running totals still equal the sum of what every contribution holds now."""
    from sqlalchemy import select

    from storage.repositories.impact import decode_values, totals

    async with size.db.read() as session:
        summed: dict[tuple[str, str], Decimal] = {}
        for values in await session.scalars(select(Contribution.values)):
            for key, value in decode_values(values).items():
                summed[key] = summed.get(key, Decimal(0)) + value
        running = await totals(session, size.campaign.id)
    if running != summed:
        raise RuntimeError(f"N={size.n}: running totals {running} != recomputed {summed}")


async def run(sizes: list[int], updates: int, rounds: int, warmup: int) -> dict[str, object]:
    per_round = max(1, updates // rounds)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        built = [await populate(n, Path(tmp)) for n in sizes]
        setup_s = time.perf_counter() - started
        try:
            for size in built:
                await time_updates(size, warmup)
            await time_empty_writes(built[0].db, warmup)
            empty: list[float] = []
            for _ in range(rounds):
                empty.append(await time_empty_writes(built[0].db, per_round))
                for size in built:
                    size.per_update_s.append(await time_updates(size, per_round))
            for size in built:
                await check_totals(size)
        finally:
            for size in built:
                await size.db.dispose()
    return {
        "setup_s": setup_s,
        "per_round": per_round,
        "rounds": rounds,
        "empty_s": statistics.median(empty),
        "sizes": [(s.n, statistics.median(s.per_update_s)) for s in built],
    }


def print_table(r: dict[str, object]) -> bool:
    sizes: list[tuple[int, float]] = r["sizes"]  # type: ignore[assignment]
    empty: float = r["empty_s"]  # type: ignore[assignment]
    base_n, base = sizes[0]
    print(
        f"one report update (count_report, newer version, own write unit of work) vs reports "
        f"already counted; median of {r['rounds']} interleaved rounds of {r['per_round']} updates "
        f"(setup {r['setup_s']:.1f} s)"
    )
    print(f"| reports counted | µs per update | ratio to {base_n:,} | ratio to empty write |")
    print("|---|---|---|---|")
    print(f"| empty write unit of work | {1e6 * empty:.1f} | — | 1.00 |")
    flat = True
    for n, t in sizes:
        ratio = t / base
        flat = flat and abs(ratio - 1) <= GOAL
        print(f"| {n:,} | {1e6 * t:.1f} | {ratio:.2f} | {t / empty:.2f} |")
    print(
        f"\ngoal: every size within ±{GOAL:.0%} of the {base_n:,} baseline: "
        + ("met" if flat else "NOT met")
    )
    record(
        [
            Row(
                benchmark=f"aggregation, {n:,} reports counted",
                measure="µs per report update",
                value=f"{1e6 * t:.0f} µs",
                baseline=f"{1e6 * base:.0f} µs at {base_n:,} reports",
                ratio=f"{t / base:.2f}",
                goal=f"flat (±{GOAL:.0%})",
                met=abs(t / base - 1) <= GOAL,
            )
            for n, t in sizes[1:]
        ]
    )
    return flat


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        default="1000,10000,100000",
        help="comma-separated numbers of reports the campaign already counts (first = baseline)",
    )
    parser.add_argument("--updates", type=int, default=2000, help="timed updates per size")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median kept)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed updates per size")
    args = parser.parse_args()
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated whole numbers, got {args.sizes!r}")
    if not sizes or any(n < 1 for n in sizes):
        parser.error("--sizes needs at least one positive size")
    if args.updates < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--updates and --rounds must be positive, --warmup not negative")
    os.environ.setdefault("CHAPTERHOUSE_LOG_LEVEL", "WARNING")
    result = asyncio.run(run(sizes, args.updates, args.rounds, args.warmup))
    print_table(result)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
