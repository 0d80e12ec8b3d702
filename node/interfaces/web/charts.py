"""Charts as server-rendered SVG: progress against targets and totals over time."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, BAR_HEIGHT, GAP = 560, 26, 14
INK, TRACK, ACCENT = "#1d2a24", "#e3ece7", "#1f6f4a"


def progress_bars(rows: Sequence[tuple[str, float, float | None]]) -> str:
    """One bar per metric: value against target (or against the largest value)."""
    if not rows:
        return ""
    scale = max([t or v for _, v, t in rows] + [1.0])
    height = len(rows) * (BAR_HEIGHT + GAP + 16)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" aria-label="Totals against targets">'
    ]
    y = 0
    for label, value, target in rows:
        full = WIDTH * (min(value, target) / target if target else value / scale)
        caption = f"{label}: {value:g}" + (f" of {target:g}" if target else "")
        parts.append(
            f'<text x="0" y="{y + 12}" font-size="13" fill="{INK}">{escape(caption)}</text>'
        )
        parts.append(
            f'<rect x="0" y="{y + 16}" width="{WIDTH}" height="{BAR_HEIGHT}" rx="4" fill="{TRACK}"/>'
        )
        parts.append(
            f'<rect x="0" y="{y + 16}" width="{full:.1f}" height="{BAR_HEIGHT}" rx="4" fill="{ACCENT}"/>'
        )
        y += BAR_HEIGHT + GAP + 16
    parts.append("</svg>")
    return "".join(parts)


def line_chart(series: Sequence[tuple[str, float]], label: str) -> str:
    """Totals over time (one point per published rollup)."""
    if len(series) < 2:
        return ""
    height, pad = 180, 28
    top = max(v for _, v in series) or 1.0
    step = (WIDTH - 2 * pad) / (len(series) - 1)
    points = " ".join(
        f"{pad + i * step:.1f},{height - pad - (v / top) * (height - 2 * pad):.1f}"
        for i, (_, v) in enumerate(series)
    )
    first, last = escape(series[0][0][:16]), escape(series[-1][0][:16])
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'aria-label="{escape(label)} over time">'
        f'<polyline fill="none" stroke="{ACCENT}" stroke-width="3" points="{points}"/>'
        f'<text x="{pad}" y="{height - 6}" font-size="12" fill="{INK}">{first}</text>'
        f'<text x="{WIDTH - pad}" y="{height - 6}" font-size="12" fill="{INK}" text-anchor="end">{last}</text>'
        f'<text x="{pad}" y="16" font-size="12" fill="{INK}">{escape(label)}: {top:g}</text></svg>'
    )
