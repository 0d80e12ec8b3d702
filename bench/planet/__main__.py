"""python -m bench.planet: a global campaign, simulated (see bench/planet/__init__.py).

    python -m bench.planet [--chapters 10000] [--servers 5000] [--followers 1000000]
                           [--seed 17] [--no-validate] [--rounds 3] [--samples 2000]
                           [--validate-sizes 1000x50,10000x200] [--out bench/out]

Progress goes to stderr; the summary to stdout; rows to the results table (bench/results.py);
the chart to OUT/planet.png.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.planet import costs as cost_module
from bench.planet import policies, world
from bench.planet.chart import draw
from bench.planet.report import Summary, print_summary, rows
from bench.planet.scenario import Campaign, Options, Result
from bench.planet.validate import Check, validate
from bench.results import record

ROOT = Path(__file__).resolve().parents[2]
VALIDATION_SIZES = [(1000, 50), (10000, 200)]


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.planet",
        description="Simulate a global campaign (a discrete-event model calibrated in this run).",
    )
    parser.add_argument("--chapters", type=int, default=10_000)
    parser.add_argument("--servers", type=int, default=5_000, help="other fediverse servers")
    parser.add_argument("--followers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--no-validate", action="store_true", help="skip the real fan-outs (bench.fanout)"
    )
    parser.add_argument(
        "--validate-sizes",
        default="1000x50,10000x200",
        help="real fan-outs to compare with, FOLLOWERSxHOSTS,... (default: 1000x50,10000x200)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of each real fan-out (median kept)"
    )
    parser.add_argument(
        "--samples", type=int, default=2000, help="operations per cost measurement (default 2000)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="chart dir")
    args = parser.parse_args(argv)
    if min(args.chapters, args.servers) < 1 or args.followers < args.chapters:
        parser.error("need at least one chapter and server, and a follower per chapter")
    if args.rounds < 1 or args.samples < 40:
        parser.error("--rounds must be positive and --samples at least 40")
    try:
        args.sizes = [
            (int(f), int(h))
            for f, _, h in (p.strip().partition("x") for p in args.validate_sizes.split(","))
        ]
    except ValueError:
        parser.error("--validate-sizes must look like 1000x50,10000x200")
    return args


def play(shape: world.Shape, c: cost_module.Costs, jobs: list[tuple[str, Options]]) -> list[Result]:
    """Run the scenarios ``jobs`` on one world (built here: this runs in a worker process)."""
    w = world.build(shape)
    out = []
    for label, options in jobs:
        progress(f"simulating: {label}")
        out.append(Campaign(w, c, options, progress).run())
    return out


async def measure(args: argparse.Namespace) -> tuple[cost_module.Costs, list[Check]]:
    costs = await cost_module.measure(progress, n=args.samples)
    progress(f"costs: {costs.describe()}")
    checks = [] if args.no_validate else await validate(costs, args.sizes, args.rounds, progress)
    return costs, checks


def main(argv: list[str] | None = None) -> Summary:
    args = parse(argv)
    os.environ.setdefault("CHAPTERHOUSE_LOG_LEVEL", "WARNING")
    started = time.perf_counter()
    costs, checks = asyncio.run(measure(args))
    shape = world.Shape(
        chapters=args.chapters, servers=args.servers, followers=args.followers, seed=args.seed
    )
    w = world.build(shape)
    progress(w.summary())
    base = policies.settings()
    hubs = max(2, round(args.chapters**0.5))
    concurrency = base.delivery_concurrency * 4
    interval = base.rollup_interval_seconds
    quiet = {"call": False, "report_followers": False}
    what_ifs: list[tuple[str, Options]] = [
        (
            f"what-if: relayed through {hubs} regional hubs",
            Options(settings=base, hubs=hubs, reports=False),
        ),
        (
            f"what-if: delivery_concurrency {concurrency}",
            Options(settings=policies.settings(delivery_concurrency=concurrency), reports=False),
        ),
    ] + [
        (
            f"rollup every {seconds:g} s",
            Options(settings=policies.settings(rollup_interval_seconds=seconds), **quiet),
        )
        for seconds in (interval, interval / 6, interval * 5)
    ]
    # Two processes (the machine's two cores): the whole campaign in one, the what-ifs in the
    # other; each builds the same world from the same seed.
    with ProcessPoolExecutor(max_workers=2) as pool:
        whole = pool.submit(play, shape, costs, [("the campaign, direct fan-out", Options())])
        others = pool.submit(play, shape, costs, what_ifs)
        direct, (hubbed, wider, *intervals) = whole.result()[0], others.result()
    results = {"direct": direct, "hubs": hubbed, "concurrency": wider}
    rollups = {label: r for (label, _), r in zip(what_ifs[2:], intervals, strict=True)}
    summary = Summary(
        world=w,
        costs=costs,
        checks=checks,
        results=results,
        rollups=rollups,
        hubs=hubs,
        concurrency=concurrency,
        wall=0.0,
    )
    chart = draw(
        args.out / "planet.png",
        {
            "direct fan-out": results["direct"],
            f"{hubs} regional hubs": results["hubs"],
            f"delivery_concurrency {concurrency}": results["concurrency"],
        },
        {
            "as run": results["direct"],
            **{k: v for k, v in rollups.items() if k.endswith(f"{interval / 6:g} s")},
        },
        args.chapters,
    )
    summary.chart = chart
    summary.wall = time.perf_counter() - started
    print_summary(summary)
    record(rows(summary))
    return summary


if __name__ == "__main__":
    main()
