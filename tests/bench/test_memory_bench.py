"""Smoke test of the memory benchmark (bench/memory.py): a tiny node end to end.

Checks the machinery (nodes set up by the CLI and served as real processes, the bulk fill with
impact reports and their running sums, the page timings, RSS readings, the results rows), not
the figures: those need `make bench`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_tiny_memory_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    env = {**os.environ, "CHAPTERHOUSE_BENCH_RESULTS": str(results)}
    tiny = ["--members", "200", "--calls", "60", "--activities", "2000", "--requests", "20"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory", *tiny, "--reports", "1500"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "impact reports: 1,500/1,500" in done.stderr, done.stderr
    rows = json.loads(results.read_text())
    names = " ".join(r["benchmark"] + " " + r["measure"] for r in rows)
    assert "idle" in names and "chapter page" in names and "outbox page" in names, rows
    idle = next(r for r in rows if "idle" in r["benchmark"])
    assert 10 < float(idle["value"].split()[0]) < 1000  # a real RSS reading in MB
    # The measured chapter reported on each of its calls that started: half of the 60 (on a
    # node this small); every 50th report is retracted, none of its 30.
    page = next(r for r in rows if r["measure"].startswith("chapter page"))
    assert "the chapter holds 30 of the reports, 30 live" in page["measure"], page
    assert page["goal"] == "p99 ≤ 50 ms" and isinstance(page["met"], bool)
    # The large node's RSS is reported with what the node holds; it has no goal, so no "yes".
    rss = next(r for r in rows if r["measure"].startswith("RSS after the requests"))
    assert re.search(r"1,500 impact reports \(and their chapter_totals\)", rss["measure"]), rss
    assert rss["goal"] is None and rss["met"] is None
    assert rss["measure"] + " | " in done.stdout and "| — | — |" in done.stdout
