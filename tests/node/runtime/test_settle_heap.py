"""settle_heap (serve and worker, once started): start-up objects frozen, young collections rarer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

CHECK = """
import gc
from node.runtime.app import GC_YOUNG_THRESHOLD, settle_heap
middle, old = gc.get_threshold()[1:]
settle_heap()
assert gc.get_freeze_count() > 1000, gc.get_freeze_count()
assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, middle, old), gc.get_threshold()
"""


def test_settle_heap_freezes_start_up_objects_and_raises_the_young_threshold() -> None:
    # In a process of its own: freezing and thresholds are process-wide.
    done = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
