"""The benchmark table (bench/results.py): a row without a goal prints "—", never "yes".

A figure that is only reported has nothing to meet; printing "yes" beside it made the table
claim goals nobody set. These check the rows' rules and the rendering into RESULTS.md and the
README's markers, on files of their own (never the repository's).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.results import BEGIN, END, Row, publish, record, render

CELLS: dict[str, Any] = {
    "benchmark": "b",
    "measure": "m",
    "value": "1",
    "baseline": "2",
    "ratio": "0.5",
}


def last_cells(table: str) -> list[str]:
    """The goal and met cells of the table's last line."""
    return [c.strip() for c in table.strip().splitlines()[-1].strip("|").split("|")][-2:]


def test_a_row_without_a_goal_prints_dashes_in_goal_and_met() -> None:
    assert last_cells(render([Row(**CELLS)])) == ["—", "—"]


@pytest.mark.parametrize("goal", ["reported", "", "—"])
def test_a_goal_that_is_no_goal_is_never_met(goal: str) -> None:
    row = Row(**CELLS, goal=goal, met=True)
    assert row.goal is None and row.met is None
    assert last_cells(render([row])) == ["—", "—"]


def test_a_row_with_a_goal_says_yes_or_no() -> None:
    assert last_cells(render([Row(**CELLS, goal="p99 ≤ 50 ms", met=True)])) == [
        "p99 ≤ 50 ms",
        "yes",
    ]
    assert last_cells(render([Row(**CELLS, goal="p99 ≤ 50 ms", met=False)])) == [
        "p99 ≤ 50 ms",
        "**no**",
    ]


def test_a_row_with_a_goal_must_say_whether_it_is_met() -> None:
    with pytest.raises(ValueError, match="does not say if it is met"):
        Row(**CELLS, goal="≥ 75% of ceiling")


def test_published_rows_keep_the_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = tmp_path / "results.json"
    monkeypatch.setenv("CHAPTERHOUSE_BENCH_RESULTS", str(results))
    record([Row(**CELLS, goal="≤ 80 MB", met=True), Row(**{**CELLS, "benchmark": "rss"})])
    # A row recorded before the rule (goal "reported", met true) is published as no goal.
    legacy = {**CELLS, "benchmark": "legacy", "goal": "reported", "met": True}
    results.write_text(json.dumps([*json.loads(results.read_text()), legacy]))
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{BEGIN}\nold table\n{END}\noutro\n")
    publish(readme, tmp_path / "RESULTS.md")
    text = readme.read_text()
    assert "old table" not in text and text.startswith("intro\n") and text.endswith("outro\n")
    lines = [line for line in text.splitlines() if line.startswith("| ")][1:]  # no header
    assert lines == [
        "| b | m | 1 | 2 | 0.5 | ≤ 80 MB | yes |",
        "| rss | m | 1 | 2 | 0.5 | — | — |",
        "| legacy | m | 1 | 2 | 0.5 | — | — |",
    ]
    assert (tmp_path / "RESULTS.md").read_text().endswith("\n".join(lines) + "\n")
    stored = json.loads(results.read_text())
    assert stored[1]["goal"] is None and stored[1]["met"] is None
