"""Smoke test of the aggregation benchmark (bench/aggregate.py): a tiny run end to end.

Checks the machinery (signed updates, the real intake path with its proof pool, the recount,
the results rows), not the figures: those need `make bench`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_tiny_aggregation_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    env = {**os.environ, "CHAPTERHOUSE_BENCH_RESULTS": str(results)}
    tiny = ["--sizes", "40,100", "--updates", "60", "--rounds", "1", "--warmup", "20"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.aggregate", *tiny, "--batch", "25", "--workers", "1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| 100 |" in done.stdout, done.stdout
    rows = json.loads(results.read_text())
    assert [r["benchmark"] for r in rows] == [
        "aggregation, 40 reports held",
        "aggregation, 100 reports held",
    ]
    assert all(r["value"].endswith("/s") and r["baseline"] and r["ratio"] for r in rows)
