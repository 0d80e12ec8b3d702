"""Smoke test of the JCS benchmark (bench/jcs.py): a tiny run, rows well formed, no figures
asserted (speed is for ``python -m bench.jcs`` on a quiet machine)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_tiny_jcs_benchmark_prints_one_row_per_document_and_operation() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.jcs", "--n", "3", "--rounds", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [line.strip("|").split("|") for line in done.stdout.splitlines()[2:]]
    assert len(rows) == 10
    for document, operation, micros in rows:
        assert document.strip() in {"report", "event"}
        assert operation.strip()
        assert float(micros) > 0
