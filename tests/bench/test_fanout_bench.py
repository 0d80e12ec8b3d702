"""Smoke test of the fan-out benchmark (bench/fanout.py): a small run end to end.

Checks the machinery (receivers in their own process, the node's real queue and worker, the
ceiling, the slow-receiver scenario, the results rows), not the figures: those need `make bench`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_small_fanout_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    env = {**os.environ, "CHAPTERHOUSE_BENCH_RESULTS": str(results)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.fanout",
            "--scenarios",
            "120x6",
            "--rounds",
            "1",
            "--slow-delay",
            "0.1",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| 120 inboxes on 6 hosts |" in done.stdout, done.stdout
    assert "one of 50 hosts 100 ms away" in done.stdout, done.stdout
    rows = json.loads(results.read_text())
    assert [r["benchmark"] for r in rows] == [
        "fan-out, 120 inboxes on 6 hosts",
        "fan-out, one of 50 hosts 100 ms away",
    ]
    assert all(r["value"] and r["baseline"] and r["ratio"] for r in rows)
