"""Smoke test of the inbox benchmark (bench/inbox.py): a short run end to end on SQLite.

Checks the machinery (the node set up by the CLI, the remote server and its chapters joining
the campaign, the pre-signed mixed traffic, wrk's Lua script, the drain through ``/metrics``,
the database check and the results row), not the figures: those need the full run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.inbox import WRK

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not Path(WRK).exists(), reason="wrk is not installed")


def test_a_short_mixed_inbox_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    env = {**os.environ, "CHAPTERHOUSE_BENCH_RESULTS": str(results)}
    short = ["--seconds", "2", "--connections", "8", "--rounds", "1", "--requests", "2000"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.inbox", "--database", "sqlite", *short],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = done.stdout
    assert done.returncode in {0, 1}, out + done.stderr  # 1: goal not met
    assert "key_fetches_per_origin_per_minute" in out  # the raised limits are printed
    # Every kind of the mix was sent, handled, and left its effects; nothing failed or waits.
    check = re.search(r"check: .*", out)
    assert check is not None, out
    assert "all as expected" in check.group(0), check.group(0)
    assert ", 0 failed, 0 waiting;" in check.group(0)
    for kind in ("notes", "events", "joins", "reports"):
        handled = re.search(rf"([\d,]+) {kind}", check.group(0))
        assert handled is not None and int(handled.group(1).replace(",", "")) > 0, check.group(0)
    assert re.search(r"end to end: [\d,]+ handled in [\d.]+ s = [\d,]+/s .*drained", out), out
    assert "| sqlite |" in out
    (row,) = json.loads(results.read_text())
    assert row["benchmark"] == "inbox end to end (SQLite)"
    assert "accepted AND handled" in row["measure"]
    assert row["goal"] == "≥ 50% of ceiling, p99 < 100 ms, 0 errors, backlog drained"
    assert isinstance(row["met"], bool)
