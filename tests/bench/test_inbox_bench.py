"""Smoke test of the inbox benchmark (bench/inbox.py): a short run end to end on SQLite.

Checks the machinery (node set up by the CLI, key server, pre-signed requests, wrk's Lua
script, the stored-items check, the results row), not the figures: those need the full run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.inbox import WRK

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not Path(WRK).exists(), reason="wrk is not installed")


def test_a_short_inbox_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    env = {**os.environ, "CHAPTERHOUSE_BENCH_RESULTS": str(results)}
    short = ["--seconds", "2", "--connections", "8", "--rounds", "1", "--requests", "6000"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.inbox", "--database", "sqlite", *short],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in {0, 1}, done.stdout + done.stderr  # 1: goal not met
    assert "raised to inbox_rate_per_domain" in done.stdout
    assert "nothing lost" in done.stdout, done.stdout
    assert "| sqlite |" in done.stdout
    (row,) = json.loads(results.read_text())
    assert row["benchmark"] == "inbox (SQLite)"
    assert row["goal"] == "≥ 80% of ceiling, p99 < 100 ms, 0 errors"
