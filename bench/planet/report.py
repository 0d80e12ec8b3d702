"""What the planet prints and the rows it adds to the results table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.planet.costs import Costs
from bench.planet.scenario import Load, Result
from bench.planet.validate import GOAL, Check
from bench.planet.world import World
from bench.results import Row

PLANET = "planet (simulated)"


@dataclass
class Summary:
    world: World
    costs: Costs
    checks: list[Check]
    results: dict[str, Result]  # "direct", "hubs", "concurrency"
    rollups: dict[str, Result]  # by label; the first is the default interval
    hubs: int
    concurrency: int
    wall: float
    chart: Path | None = None

    @property
    def chapters(self) -> int:
        return self.world.shape.chapters


def seconds(value: float | None) -> str:
    if value is None:
        return "never (within the horizon)"
    if value >= 120:
        return f"{value / 60:,.1f} min"
    return f"{value:,.1f} s"


def size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000:
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} PB"


def spread(r: Result) -> str:
    return (
        f"50% {seconds(r.reach_time(0.5))}, 99% {seconds(r.reach_time(0.99))}, "
        f"100% {seconds(r.reach_time(1.0))}"
    )


def bottleneck(loads: list[Load]) -> str:
    if not loads:
        return "none found"
    first = loads[0]
    return f"{first.name}: {first.utilisation:.0%} busy, {first.detail}"


def diff(a: float | None, b: float | None) -> str:
    if a is None or b is None or a <= 0:
        return "n/a"
    return f"{b / a:.2f}× ({seconds(b)} against {seconds(a)})"


def print_summary(s: Summary) -> None:
    r = s.results["direct"]
    c = s.chapters
    print(f"\n## The planet: {s.world.summary()}\n")
    print(f"costs measured in this run: {s.costs.describe()}\n")
    if s.checks:
        print("| validation | measured (real node) | simulated | ratio | within 25% |")
        print("|---|---|---|---|---|")
        for k in s.checks:
            print(
                f"| {k.followers:,} inboxes on {k.hosts} hosts | {k.measured:.2f} s "
                f"| {k.simulated:.2f} s | {k.ratio:.2f} | {'yes' if k.met else 'no'} |"
            )
        print()
    print(f"- reachable followers with the call: {spread(r)}")
    print(f"- campaign sent {r.campaign[0]:,} messages, {size(r.campaign[1])}")
    print(
        f"- busiest chapter ({r.busiest[0]}) sent {r.busiest[1]:,} messages, {size(r.busiest[2])}"
    )
    print(f"- in total {r.total[0]:,} messages, {size(r.total[1])}")
    print(
        f"- the rollup counted 99% of reports {seconds(r.rollup_time(0.99, c))} after the first "
        f"report, {seconds(r.rollup_lag(0.99, c))} after 99% were sent "
        f"({r.rollups} rollups published, the last {size(r.rollup_bytes)}, "
        f"{size(r.rollup_committed)} of rollups to send in all; {r.refused:,} deliveries "
        f"refused as too large)"
    )
    print(f"- first bottleneck (the call): {bottleneck(r.loads)}")
    for load in r.loads[1:]:
        print(f"    then {load.name}: {load.utilisation:.0%} busy, {load.detail}")
    print(f"- bottleneck while the totals converge: {bottleneck(r.rollup_loads)}")
    print(
        f"- {r.retries:,} retries (servers down or slow), {r.dead:,} deliveries given up; "
        f"{r.events:,} events in {r.wall:.0f} s"
    )
    h, m = s.results["hubs"], s.results["concurrency"]
    print("\nWhat-ifs, one policy at a time (time until 99% of reachable followers have the call):")
    print(
        f"- relayed through {s.hubs} regional hubs: {diff(r.reach_time(0.99), h.reach_time(0.99))}"
        f"; campaign sent {h.campaign[0]:,} messages, {size(h.campaign[1])}"
    )
    print(f"- delivery_concurrency {s.concurrency}: {diff(r.reach_time(0.99), m.reach_time(0.99))}")
    labels = list(s.rollups)
    base = s.rollups[labels[0]]
    print(
        "Rollup interval (reports' copies to followers left out; the rollup goes to every chapter):"
    )
    for label in labels:
        x = s.rollups[label]
        print(
            f"- {label}: a report waits {seconds(x.staleness())} on average to be counted, "
            f"{x.rollups} rollups, {size(x.rollup_committed)} of rollups to send"
            + ("" if x is base else f" (wait {diff(base.staleness(), x.staleness())})")
        )
    if s.chart is not None:
        print(f"\nchart: {s.chart}")
    print(f"planet done in {s.wall:.0f} s")


def rows(s: Summary) -> list[Row]:
    out = [
        Row(
            benchmark=f"planet validation, {k.followers:,} inboxes on {k.hosts} hosts",
            measure="simulated fan-out time against the real node's",
            value=f"{k.simulated:.2f} s simulated",
            baseline=f"{k.measured:.2f} s measured (bench.fanout, same run)",
            ratio=f"{k.ratio:.2f}",
            goal=f"within {GOAL:.0%} of measured",
            met=k.met,
        )
        for k in s.checks
    ]
    r, c = s.results["direct"], s.chapters
    scale = f"{c:,} chapters, {r.reachable:,} reachable followers"
    out += [
        Row(
            benchmark=f"{PLANET}: the call spreads",
            measure="time until 50% / 99% / 100% of reachable followers have it",
            value=(
                f"{seconds(r.reach_time(0.5))} / {seconds(r.reach_time(0.99))} / "
                f"{seconds(r.reach_time(1.0))}"
            ),
            baseline=scale,
            ratio="—",
            goal=None,
        ),
        Row(
            benchmark=f"{PLANET}: messages sent",
            measure="campaign; busiest chapter; total",
            value=(
                f"{r.campaign[0]:,} ({size(r.campaign[1])}); {r.busiest[1]:,} "
                f"({size(r.busiest[2])}); {r.total[0]:,} ({size(r.total[1])})"
            ),
            baseline=scale,
            ratio="—",
            goal=None,
        ),
        Row(
            benchmark=f"{PLANET}: the totals converge",
            measure="time until a published rollup counts 99% of reports",
            value=(
                f"{seconds(r.rollup_time(0.99, c))} after the first report, "
                f"{seconds(r.rollup_lag(0.99, c))} after 99% were sent"
            ),
            baseline=f"reports sent over 10 min; {r.rollups} rollups, the last {size(r.rollup_bytes)}",
            ratio="—",
            goal=None,
        ),
        Row(
            benchmark=f"{PLANET}: first bottleneck",
            measure="resource, utilisation, queue",
            value=bottleneck(r.loads),
            baseline=f"while the totals converge: {bottleneck(r.rollup_loads)}",
            ratio="—",
            goal=None,
        ),
    ]
    h, m = s.results["hubs"], s.results["concurrency"]
    out.append(
        Row(
            benchmark=f"{PLANET}: what-ifs",
            measure="time until 99% have the call, against direct fan-out",
            value=(
                f"{s.hubs} regional hubs: {diff(r.reach_time(0.99), h.reach_time(0.99))}; "
                f"delivery_concurrency {s.concurrency}: "
                f"{diff(r.reach_time(0.99), m.reach_time(0.99))}"
            ),
            baseline=f"direct: {seconds(r.reach_time(0.99))}",
            ratio="—",
            goal=None,
        )
    )
    labels = list(s.rollups)
    base = s.rollups[labels[0]]
    out.append(
        Row(
            benchmark=f"{PLANET}: rollup interval what-ifs",
            measure="mean wait of a report until a rollup counts it; rollup bytes to send",
            value="; ".join(
                f"{label}: {seconds(s.rollups[label].staleness())}, "
                f"{size(s.rollups[label].rollup_committed)}"
                for label in labels[1:]
            ),
            baseline=(f"{labels[0]}: {seconds(base.staleness())}, {size(base.rollup_committed)}"),
            ratio="—",
            goal=None,
        )
    )
    return out
