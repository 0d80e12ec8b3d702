"""One table for every benchmark: each run appends its rows, ``make bench`` prints them together.

A benchmark calls :func:`record` with rows measured in that run (its figure, the ceiling or
baseline measured alongside it, the ratio between the two and, when the row has a goal, whether
the goal is met); the rows land in a JSON file (``bench/out/results.json`` unless ``CHAPTERHOUSE_BENCH_RESULTS`` names
another). ``python -m bench.results`` renders the collected rows as a Markdown table, writes it to
``bench/RESULTS.md`` and replaces the table between the markers in ``README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- bench-table:begin -->"
END = "<!-- bench-table:end -->"


NONE = "—"  # the goal and met cells of a row that only reports a figure
#: Goals that are no goal: a figure "reported" is never "met".
NO_GOAL = frozenset({"", NONE, "reported"})


@dataclass(frozen=True, slots=True)
class Row:
    """One row of the table. A row without a goal only reports its figure: its goal and met
    cells print "—" (never "yes": nothing was required of it). A row with a goal must say
    whether the goal's whole definition held (``met``)."""

    benchmark: str  # e.g. "inbox (SQLite)"
    measure: str  # what the figure is, with its unit, e.g. "activities/s"
    value: str  # the figure, formatted
    baseline: str  # the ceiling or baseline measured in the same run, formatted
    ratio: str  # value against baseline, formatted (e.g. "84%" or "1.03")
    goal: str | None = None  # the goal in words, e.g. "≥ 80% of ceiling, p99 < 100 ms"
    met: bool | None = None  # None exactly when there is no goal

    def __post_init__(self) -> None:
        if self.goal is None or self.goal.strip() in NO_GOAL:
            # No goal, so nothing to meet: whatever ``met`` was passed is dropped.
            object.__setattr__(self, "goal", None)
            object.__setattr__(self, "met", None)
        elif not isinstance(self.met, bool):
            raise ValueError(f"row {self.benchmark!r} has a goal but does not say if it is met")

    @property
    def goal_cell(self) -> str:
        return self.goal if self.goal is not None else NONE

    @property
    def met_cell(self) -> str:
        if self.goal is None:
            return NONE
        return "yes" if self.met else "**no**"

    def cells(self) -> str:
        """The row as a Markdown table line."""
        return (
            f"| {self.benchmark} | {self.measure} | {self.value} | {self.baseline} | {self.ratio} "
            f"| {self.goal_cell} | {self.met_cell} |"
        )


def results_path() -> Path:
    return Path(
        os.environ.get("CHAPTERHOUSE_BENCH_RESULTS", ROOT / "bench" / "out" / "results.json")
    )


def record(rows: list[Row]) -> None:
    """Append ``rows`` to the results file (created on first use)."""
    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(path.read_text()) if path.exists() else []
    existing.extend(asdict(r) for r in rows)
    path.write_text(json.dumps(existing, indent=1, ensure_ascii=False))


def reset() -> None:
    results_path().unlink(missing_ok=True)


def render(rows: list[Row]) -> str:
    cpu = _cpu_model()
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores"
        + (f" ({cpu})" if cpu else "")
        + f", Python {platform.python_version()}; produced by `make bench`.",
        "",
        "| benchmark | measure | value | ceiling / baseline (same run) | ratio | goal | met |",
        "|---|---|---|---|---|---|---|",
    ]
    lines.extend(r.cells() for r in rows)
    return "\n".join(lines) + "\n"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def publish(
    readme: Path = ROOT / "README.md", results_md: Path = ROOT / "bench" / "RESULTS.md"
) -> str:
    """Render the collected rows into ``bench/RESULTS.md`` and the README's table."""
    path = results_path()
    rows = [Row(**r) for r in json.loads(path.read_text())] if path.exists() else []
    table = render(rows)
    results_md.write_text("# Latest benchmark results\n\n" + table)
    text = readme.read_text()
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        readme.write_text(f"{head}{BEGIN}\n{table}{END}{tail}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Render the collected benchmark rows (bench/RESULTS.md and README.md)."
    )
    parser.add_argument("--reset", action="store_true", help="forget earlier rows and stop")
    args = parser.parse_args()
    if args.reset:
        reset()
        return
    sys.stdout.write(publish())


if __name__ == "__main__":
    main()
