"""Smoke test of the flood benchmark (bench/flood.py): a short, small run end to end.

Checks the machinery (the node set up by the CLI, the honest peer's key server and its client on
127.0.0.2, the flooder process, the results rows), not the figures: those need the full run. One
property is checked all the same, since it does not depend on timing: every honest delivery is
accepted while the junk from another address is not.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_short_flood_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    env = {**os.environ, "CHAPTERHOUSE_BENCH_RESULTS": str(results)}
    short = ["--seconds", "2", "--quiet-seconds", "1", "--rate", "300", "--honest-rate", "10"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.flood", *short],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode in {0, 1}, done.stdout + done.stderr  # 1: goal not met
    assert "flood answers" in done.stdout, done.stdout
    honest, junk = json.loads(results.read_text())
    assert honest["benchmark"] == "flood: honest peer beside 300/s junk from one address"
    assert honest["goal"] == "all 2xx, p99 < 200 ms, with ≥ 95% of the junk sent"
    assert isinstance(honest["met"], bool)
    ok, sent = map(int, re.match(r"(\d+)/(\d+) 2xx", honest["value"]).groups())  # type: ignore[union-attr]
    assert ok == sent == 20, honest["value"]
    assert junk["benchmark"] == "flood: answers to the junk"
    assert junk["baseline"] == junk["ratio"] == "—" and junk["goal"] == "none accepted, no 5xx"
    assert junk["met"], junk["value"]  # no junk answered 2xx or 5xx
    assert "× 401" in junk["value"]
    assert "not sent)" in junk["value"]  # how much of the flood was really sent, in the row
