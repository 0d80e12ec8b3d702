"""The campaign page draws one chart per metric, over time, as accessible SVG.

A real node serves a campaign whose totals were published at uneven times (an hour apart, then
days apart) with two metrics; the page, fetched as a browser would, must have one chart per
metric whose x positions are proportional to time, labelled with dates in the campaign's zone
(never ISO stamps), with a y scale from 0, named by a <title>/<desc> and backed by a table.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import aiohttp
import pytest

from node.features.actors.local import create_actor
from node.interfaces.web.charts import nice_ticks, series_from_history, time_chart, zone_named
from storage.repositories import actors as actor_repo
from storage.repositories import impact as impact_repo

HTML = {"Accept": "text/html"}
T0 = datetime(2027, 7, 10, 9, 0, tzinfo=UTC)  # 10:00 in London (summer time)
#: Uneven: an hour, then four days, then half a day.
SAMPLES = [
    (T0, {"participants": 12}),
    (T0 + timedelta(hours=1), {"participants": 30, "kg_litter": 80}),
    (T0 + timedelta(days=4, hours=1), {"participants": 41, "kg_litter": 310.5}),
    (T0 + timedelta(days=4, hours=13), {"participants": 42, "kg_litter": 380}),
]
UNITS = {"participants": "people", "kg_litter": "kg"}


class Svg(HTMLParser):
    """The page's time charts: their attributes, titles, tick labels and line points."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.charts: list[dict[str, object]] = []
        self.tables: list[list[list[str]]] = []
        self._in: list[str] = []
        self._chart: dict[str, object] | None = None
        self._text_class: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self._in.append(tag)
        if tag == "svg" and "time-chart" in a.get("class", ""):
            self._chart = {"attrs": a, "title": "", "desc": "", "x": [], "y": [], "points": ""}
            self.charts.append(self._chart)
        elif self._chart is not None and tag == "polyline":
            self._chart["points"] = a["points"]
        elif self._chart is not None and tag == "text":
            self._text_class = a.get("class")
            if self._text_class in ("x-tick", "y-tick"):
                key = "x" if self._text_class == "x-tick" else "y"
                self._chart[key].append("")  # type: ignore[attr-defined]
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables and self.tables[-1]:
            self.tables[-1][-1].append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None
        if tag == "text":
            self._text_class = None
        if self._in:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if self._chart is not None:
            here = self._in[-1] if self._in else ""
            if here in ("title", "desc"):
                self._chart[here] = str(self._chart[here]) + data
            elif self._text_class in ("x-tick", "y-tick"):
                key = "x" if self._text_class == "x-tick" else "y"
                labels = self._chart[key]
                labels[-1] = f"{labels[-1]} {data}".strip()  # type: ignore[index]
        elif {"td", "th"} & set(self._in) and self.tables and self.tables[-1]:
            self.tables[-1][-1][-1] += data


async def campaign_with_history(node) -> str:
    campaign = await create_actor(node.services, "climate", "campaign", title="Climate Day")
    async with node.services.db.write() as session:
        actor = await actor_repo.local_actor_by_name(session, "climate")
        assert actor is not None
        actor.timezone = "Europe/London"
        for at, values in SAMPLES:
            await impact_repo.add_snapshot(
                session,
                actor.id,
                at,
                1,
                {(m, UNITS[m]): Decimal(str(v)) for m, v in values.items()},
            )
    return campaign.actor.ap_id


async def test_the_campaign_page_charts_each_metric_against_time(nodes):
    node = await nodes()
    url = await campaign_with_history(node)
    async with aiohttp.ClientSession() as http, http.get(url, headers=HTML) as resp:
        assert resp.status == 200
        page = await resp.text()
    found = Svg()
    found.feed(page)
    charts = {str(c["attrs"]["data-metric"]): c for c in found.charts}  # type: ignore[index]
    assert sorted(charts) == ["kg_litter", "participants"], found.charts

    for metric, chart in charts.items():
        attrs = chart["attrs"]
        assert attrs["role"] == "img"  # type: ignore[index]
        assert attrs["viewbox"].startswith("0 0 ") and attrs["width"] == "100%"  # type: ignore[index]
        # Named by its <title> and described by its <desc>.
        title_id, desc_id = attrs["aria-labelledby"].split()  # type: ignore[index]
        assert f'id="{title_id}"' in page and f'id="{desc_id}"' in page
        assert metric in str(chart["title"]) and UNITS[metric] in str(chart["title"])
        assert "Europe/London" in str(chart["desc"])

        # x proportional to time: each point's distance along equals its time along.
        samples = [(at, v[metric]) for at, v in SAMPLES if metric in v]
        xs = [float(p.split(",")[0]) for p in str(chart["points"]).split()]
        assert len(xs) == len(SAMPLES)  # a metric absent from a snapshot counts 0 there
        times = [at for at, _ in SAMPLES]
        span = (times[-1] - times[0]).total_seconds()
        for x, at in zip(xs, times, strict=True):
            expected = (at - times[0]).total_seconds() / span
            assert (x - xs[0]) / (xs[-1] - xs[0]) == pytest.approx(expected, abs=0.002)

        # A y scale: labels from 0 up to a nice value at or above the highest total.
        y_labels = [float(v.replace(",", "")) for v in chart["y"]]  # type: ignore[attr-defined]
        assert y_labels[0] == 0 and len(y_labels) >= 3
        assert y_labels[-1] >= max(v for _, v in samples)
        assert y_labels == sorted(y_labels)

        # x labels are dates as people write them, in the campaign's zone, not ISO stamps.
        x_labels = " ".join(chart["x"])  # type: ignore[arg-type]
        assert x_labels and "Jul" in x_labels, x_labels
        assert not re.search(r"\d{4}-\d{2}-\d{2}|T\d{2}:", x_labels), x_labels

    # The numbers, for screen readers: a table per chart, times in the campaign's zone.
    rows = [r for t in found.tables for r in t]
    assert ["10 Jul 2027, 10:00", "12"] in rows, rows  # 09:00 UTC is 10:00 in London
    assert ["14 Jul 2027, 23:00", "380"] in rows, rows


def test_nice_ticks_start_at_zero_and_cover_the_top() -> None:
    assert nice_ticks(42) == [0, 20, 40, 60]
    assert nice_ticks(380) == [0, 100, 200, 300, 400]
    assert nice_ticks(0.3) == [0, 0.1, 0.2, 0.3]
    assert nice_ticks(0) == [0, 0.25, 0.5, 0.75, 1.0]


def test_hour_ticks_follow_the_zone_across_a_dst_change() -> None:
    """The night the clocks go back in London: ticks on local hours, labelled in local time."""
    start = datetime(2027, 10, 30, 23, 0, tzinfo=UTC)  # 00:00 BST on the 31st
    history = [
        {"at": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "totals": []},
        {
            "at": (start + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "totals": [{"metric": "participants", "unit": "people", "value": 7}],
        },
    ]
    (series,) = series_from_history(history)
    assert [v for _, v in series.points] == [0.0, 7.0]
    found = Svg()
    found.feed(time_chart(series, zone_named("Europe/London"), key="dst"))
    (chart,) = found.charts
    labels = [label.split()[0] for label in chart["x"]]  # type: ignore[attr-defined]
    assert labels and all(re.fullmatch(r"\d{2}:00", label) for label in labels), labels
    assert "31 Oct 2027" in " ".join(chart["x"])  # type: ignore[arg-type]
