"""The planet's chart: followers reached over time, and the rollup's totals converging.

Drawn with matplotlib's Agg backend (no display needed) into one PNG with two panels: the
call's spread (direct fan-out, and each what-if that changes it), and the reports the campaign
has handled against those its published rollup counts.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from bench.planet.scenario import Result


def draw(path: Path, spread: dict[str, Result], rollup: dict[str, Result], chapters: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    for label, r in spread.items():
        if r.reach:
            xs = [0.0] + [t / 60 for t, _ in r.reach]
            ys = [0.0] + [100 * n / max(r.reachable, 1) for _, n in r.reach]
            left.step(xs, ys, where="post", label=label)
    left.set_xlabel("minutes after the campaign publishes its call")
    left.set_ylabel("reachable followers who have the call (%)")
    left.set_title("The call spreads")
    left.set_ylim(0, 101)
    left.grid(alpha=0.3)
    left.legend(fontsize=8)
    for label, r in rollup.items():
        start = r.reports_started
        if r.handled:
            xs = [(t - start) / 60 for t, _ in r.handled]
            ys = [100 * n / chapters for _, n in r.handled]
            right.plot(xs, ys, linestyle=":", label=f"reports handled ({label})")
        if r.totals:
            xs = [0.0] + [(t - start) / 60 for t, _ in r.totals]
            ys = [0.0] + [100 * n / chapters for _, n in r.totals]
            right.step(xs, ys, where="post", label=f"counted by the rollup ({label})")
    right.set_xlabel("minutes after the first report")
    right.set_ylabel("chapters' reports (%)")
    right.set_title("The totals converge")
    right.set_ylim(0, 101)
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
