"""Smoke test of the planet (bench/planet): a tiny world, end to end, and its building blocks.

Checks that the machinery works (costs measured by the node's real code, the campaign played
with the node's policies, the summary, the rows and the chart), never the figures: those need
`make bench`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.planet import policies, world
from bench.planet.costs import Costs
from bench.planet.engine import Clock, Resource
from bench.planet.scenario import Campaign, Options
from bench.planet.validate import simulate_fanout

REPO = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"
COSTS = Costs(  # for the unit checks below only; the run measures its own
    sign=0.001,
    verify=0.0002,
    post=0.0005,
    publish_row=0.0001,
    publish_fixed=0.01,
    queue_row=0.0002,
    accept_row=0.0001,
    handle=0.005,
    sink=0.0003,
    proof_per_kb=0.0001,
    call_bytes=5000,
    announce_bytes=1600,
    report_bytes=5000,
)


def test_a_tiny_planet_runs_end_to_end(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    env = {**os.environ, "CHAPTERHOUSE_BENCH_RESULTS": str(results)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.planet",
            "--chapters",
            "30",
            "--servers",
            "40",
            "--followers",
            "900",
            "--samples",
            "100",
            "--no-validate",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "30 chapters, 40 servers, 900 followers" in done.stdout, done.stdout
    assert "first bottleneck (the call):" in done.stdout
    assert "simulating: what-if: relayed through" in done.stderr  # progress goes to stderr
    assert (tmp_path / "planet.png").read_bytes().startswith(PNG)
    rows = json.loads(results.read_text())
    names = [r["benchmark"] for r in rows]
    assert names == [
        "planet (simulated): the call spreads",
        "planet (simulated): messages sent",
        "planet (simulated): the totals converge",
        "planet (simulated): first bottleneck",
        "planet (simulated): what-ifs",
        "planet (simulated): rollup interval what-ifs",
    ]
    assert all(r["goal"] is None and r["met"] is None for r in rows)  # figures, no goals
    assert all(r["value"] and r["baseline"] for r in rows)
    spread = rows[0]["value"].split(" / ")
    assert len(spread) == 3 and all(part.endswith((" s", " min")) for part in spread), spread


def test_the_campaign_reaches_every_reachable_follower_and_counts_every_report() -> None:
    w = world.build(world.Shape(chapters=20, servers=30, followers=600, seed=3))
    r = Campaign(w, COSTS, Options(), lambda _: None).run()
    assert r.reached == r.reachable == w.followers_reachable
    t50, t99, t100 = (r.reach_time(x) for x in (0.5, 0.99, 1.0))
    assert t50 is not None and t99 is not None and t100 is not None
    assert 0 < t50 <= t99 <= t100
    assert r.totals[-1][1] == 20  # the last rollup counts every chapter's report
    assert r.rollup_time(0.99, 20) is not None
    assert r.campaign[0] >= 20 and r.total[1] > r.campaign[1] > 0
    assert r.loads and 0 < r.loads[0].utilisation <= 9.99


def test_down_servers_are_retried_with_the_nodes_backoff() -> None:
    shape = world.Shape(chapters=10, servers=20, followers=300, seed=5, down=0.3)
    w = world.build(shape)
    assert w.followers_reachable < 300  # some followers sit on servers that are down
    r = Campaign(w, COSTS, Options(reports=False), lambda _: None).run()
    assert r.reached == r.reachable
    assert r.retries > 0


def test_shared_inboxes_take_one_copy_per_chapter() -> None:
    assert len(policies.delivery_inboxes(policies.server_followers("a.example", 5, True))) == 1
    assert len(policies.delivery_inboxes(policies.server_followers("b.example", 5, False))) == 5
    assert policies.adoption_messages() == ["Create", "Announce"]


def test_the_rollup_waits_for_its_interval() -> None:
    s = policies.settings(rollup_interval_seconds=60.0)
    assert policies.rollup_is_due(s, None, 0.0)
    assert not policies.rollup_is_due(s, 100.0, 130.0)
    assert policies.rollup_is_due(s, 100.0, 160.0)


def test_retry_delays_grow_and_give_up() -> None:
    import random

    s = policies.settings()
    rng = random.Random(1)
    first = policies.retry_delay(s, 1, rng)
    later = policies.retry_delay(s, 5, rng)
    assert first is not None and later is not None and later > first
    assert policies.retry_delay(s, s.delivery_max_attempts + 1, rng) is None


def test_a_resource_serves_in_order_and_counts_the_wait() -> None:
    core = Resource("core")
    assert core.reserve(0.0, 1.0) == 1.0
    assert core.reserve(0.5, 1.0) == 2.0  # waits for the first job
    assert core.max_wait == 0.5 and core.busy == 2.0
    clock = Clock()
    seen: list[float] = []
    clock.at(2.0, lambda: seen.append(clock.now))
    clock.at(1.0, lambda: seen.append(clock.now))
    clock.run()
    assert seen == [1.0, 2.0]


def test_the_validation_fanout_is_bound_by_the_node_core() -> None:
    small = simulate_fanout(COSTS, 100, 5)
    big = simulate_fanout(COSTS, 1000, 50)
    per = COSTS.deliver
    assert big > small > 0
    assert big >= 1000 * per  # every delivery's cost goes through the one core
