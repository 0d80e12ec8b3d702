"""Smoke test of the fan-out benchmark (bench/fanout.py): a small run end to end.

Checks the machinery (receivers in their own process, the node's real queue and worker, the
ceiling, the slow-receiver scenario, the results rows), not the figures: those need `make bench`.
On PostgreSQL too when the suite has a server (``CHAPTERHOUSE_TEST_DATABASE_URL``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SMALL = ["--scenarios", "120x6", "--rounds", "1", "--slow-delay", "0.1"]


def run_fanout(tmp_path: Path, *extra: str) -> tuple[str, list[dict[str, object]]]:
    results = tmp_path / "results.json"
    env = {**os.environ, "CHAPTERHOUSE_BENCH_RESULTS": str(results)}
    env.pop("CHAPTERHOUSE_BENCH_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "bench.fanout", *SMALL, *extra],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, json.loads(results.read_text())


def check_rows(rows: list[dict[str, object]], database: str) -> None:
    assert [r["benchmark"] for r in rows] == [
        f"fan-out, 120 inboxes on 6 hosts ({database})",
        f"fan-out, one of 50 hosts 100 ms away ({database})",
    ]
    assert all(r["value"] and r["baseline"] and r["ratio"] for r in rows)
    assert all(r["goal"] and isinstance(r["met"], bool) for r in rows)
    slow = rows[1]
    # Like with like: both sides are the other hosts' deliveries answered (recorded beside).
    assert "other hosts is answered, both runs" in str(slow["measure"])
    assert "answered and recorded" in str(slow["value"])
    assert "answered and recorded" in str(slow["baseline"])


def test_a_small_fanout_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    stdout, rows = run_fanout(tmp_path)  # "both", with no PostgreSQL server: SQLite only
    assert "PostgreSQL skipped" in stdout
    assert "| 120 inboxes on 6 hosts | SQLite |" in stdout, stdout
    assert "SQLite: one of 50 hosts 100 ms away" in stdout, stdout
    check_rows(rows, "SQLite")


def test_the_fanout_benchmark_runs_on_postgresql(tmp_path: Path) -> None:
    server = os.environ.get("CHAPTERHOUSE_TEST_DATABASE_URL")
    if not server:
        pytest.skip("no PostgreSQL server (CHAPTERHOUSE_TEST_DATABASE_URL)")
    stdout, rows = run_fanout(tmp_path, "--database", "postgresql", "--postgres-url", server)
    assert "| 120 inboxes on 6 hosts | PostgreSQL |" in stdout, stdout
    check_rows(rows, "PostgreSQL")
