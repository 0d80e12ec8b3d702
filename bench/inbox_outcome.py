"""What ``bench.inbox`` reports: one node run, rounds against the ceiling, their medians,
the results row and the table. Only activities both accepted and handled are counted."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench.inbox_setup import Check
from bench.inbox_wrk import WrkResult
from bench.results import Row

GOAL_RATIO = {"sqlite": 0.50, "postgresql": 0.80}
GOAL_P99_MS = 100.0
MIX_TEXT = "80% Create{Note}, 10% Create{Event} with proofs, 5% Join, 5% reports with proofs"


@dataclass(frozen=True)
class NodeRun:
    """One flood of a fresh node, followed until its backlog drained."""

    wrk: WrkResult  # the HTTP side: answers, latency, errors during the flood
    handled: int  # inbox items handled from the first request until drained
    seconds: float  # first request → backlog drained (or the time-out)
    backlog_after_flood: int
    backlog_left: int  # 0: drained
    cpu_seconds: float  # the node's CPU time over ``seconds``
    deliveries: dict[str, int]  # the node's delivery queue once drained, by state
    check: Check

    @property
    def rate(self) -> float:
        return self.handled / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_activity(self) -> float:
        return self.cpu_seconds / max(1, self.handled) * 1e6

    @property
    def errors(self) -> int:
        return self.wrk.errors + len(self.check.problems) + (1 if self.backlog_left else 0)


@dataclass(frozen=True)
class Round:
    node: NodeRun
    ceiling: WrkResult


@dataclass(frozen=True)
class Outcome:
    """A database's rounds, summarised by medians (the machine may be shared and noisy)."""

    database: str
    rounds: list[Round]

    @property
    def node(self) -> NodeRun:
        """The round with the median handled rate (its latencies are the ones reported)."""
        ordered = sorted(self.rounds, key=lambda r: r.node.rate)
        return ordered[(len(ordered) - 1) // 2].node

    @property
    def ceiling_rate(self) -> float:
        return statistics.median(r.ceiling.rate for r in self.rounds)

    @property
    def ratio(self) -> float:
        return self.node.rate / self.ceiling_rate if self.ceiling_rate else 0.0

    @property
    def cpu_ratio(self) -> float:
        """The ceiling's CPU per request against the node's per handled activity (medians):
        what the ratio would be with the core to itself, little moved by other work."""
        node = statistics.median(r.node.cpu_us_per_activity for r in self.rounds)
        ceiling = statistics.median(r.ceiling.cpu_us_per_request for r in self.rounds)
        return ceiling / node if node else 0.0

    @property
    def errors(self) -> int:
        return sum(r.node.errors for r in self.rounds)

    @property
    def goal(self) -> float:
        return GOAL_RATIO[self.database]

    @property
    def goal_met(self) -> bool:
        return self.ratio >= self.goal and self.node.wrk.p99_ms < GOAL_P99_MS and self.errors == 0


def row(outcome: Outcome) -> Row:
    node = outcome.node
    name = "SQLite" if outcome.database == "sqlite" else "PostgreSQL"
    return Row(
        benchmark=f"inbox end to end ({name})",
        measure=(
            f"signed activities accepted AND handled/s ({MIX_TEXT}), default serve on 1 core, "
            "64 keep-alive connections; from the first request until the backlog is drained"
        ),
        value=(
            f"{node.rate:,.0f}/s (answered {node.wrk.rate:,.0f}/s during the flood, p50 "
            f"{node.wrk.p50_ms:.1f} ms, p99 {node.wrk.p99_ms:.1f} ms; {outcome.errors} errors; "
            f"median of {len(outcome.rounds)}; CPU per activity {outcome.cpu_ratio:.0%} of the "
            "ceiling's per request)"
        ),
        baseline=(
            f"{outcome.ceiling_rate:,.0f}/s (bare aiohttp: digest + RSA verify + parse, "
            "same requests; no database, no handling)"
        ),
        ratio=f"{outcome.ratio:.0%}",
        goal=f"≥ {outcome.goal:.0%} of ceiling, p99 < 100 ms, 0 errors, backlog drained",
        met=outcome.goal_met,
    )


def table(outcomes: list[Outcome]) -> str:
    lines = [
        "| database | handled/s | answered/s | ceiling/s | ratio | CPU ratio | p50 | p99 "
        "| errors | goal met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines.extend(
        f"| {o.database} | {o.node.rate:,.0f} | {o.node.wrk.rate:,.0f} | {o.ceiling_rate:,.0f} "
        f"| {o.ratio:.0%} | {o.cpu_ratio:.0%} | {o.node.wrk.p50_ms:.1f} ms "
        f"| {o.node.wrk.p99_ms:.1f} ms | {o.errors} | {'yes' if o.goal_met else '**no**'} |"
        for o in outcomes
    )
    return "\n".join(lines) + "\n"


def describe(label: str, result: WrkResult) -> None:
    print(
        f"  {label}: {result.rate:,.0f}/s over {result.seconds:.1f} s; {result.accepted:,} 2xx, "
        f"{result.non2xx} non-2xx (first {result.first_bad or '-'}), {result.socket_errors} "
        f"socket errors, {result.overrun} repeats; p50 {result.p50_ms:.1f} ms, "
        f"p90 {result.p90_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, max {result.max_ms:.1f} ms; "
        f"server CPU {result.cpu_us_per_request:.0f} µs/request",
        flush=True,
    )
