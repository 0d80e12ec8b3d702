"""``/metrics`` on a real in-process node, scraped over HTTP and parsed as Prometheus text.

The node runs without workers, so the queue stays exactly as the test seeds it through the
storage layer, and the only delivery outcomes counted are the ones the test records.
"""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from node.runtime.appkeys import METRICS
from node.runtime.metrics import Metrics
from storage.engine import open_database, sqlite_url
from storage.migrate import migrate
from storage.repositories import deliveries as delivery_repo
from storage.repositories import delivery_admin
from storage.repositories import domains as domain_repo
from storage.repositories import outbox as outbox_repo
from tests.rig.nodes import Node

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(node: Node) -> Samples:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{node.base_url}/metrics") as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


async def seed_queue(node: Node) -> dict[str, int]:
    """Deliveries of one activity: two pending, one failing, one dead, one sent."""
    services = node.services
    chapter = await node.chapter("greenpark")
    now = services.clock.now()
    names = ["pending1", "pending2", "failing", "dead", "sent"]
    async with services.db.write() as session:
        activity = await outbox_repo.add(
            session,
            ap_id=services.activity_id(),
            actor_id=chapter.actor.id,
            activity_type="Create",
            body={"type": "Create"},
            public=True,
            now=now,
        )
        await delivery_repo.enqueue(
            session,
            activity.id,
            [(f"https://{n}.example/inbox", f"{n}.example") for n in names],
            now,
        )
    async with services.db.read() as session:
        views = await delivery_admin.list_deliveries(session, states=None, limit=100)
    ids = {v.host.removesuffix(".example"): v.id for v in views}
    async with services.db.write() as session:
        await delivery_repo.mark_retry(
            session,
            ids["failing"],
            next_attempt_at=now + timedelta(hours=1),
            status=503,
            error="HTTP 503",
        )
        await delivery_repo.mark_dead(session, ids["dead"], status=400, error="HTTP 400")
        await delivery_repo.mark_sent(session, ids["sent"], now=now, status=202)
    return ids


async def test_queue_gauges_come_from_the_database_at_scrape_time(nodes):
    node = await nodes(run_workers=False)
    empty = await scrape(node)
    for state in ("pending", "failing", "dead", "sent"):
        assert sample(empty, "chapterhouse_delivery_queue", state=state) == 0
    assert sample(empty, "chapterhouse_unavailable_domains") == 0

    ids = await seed_queue(node)
    seeded = await scrape(node)
    assert sample(seeded, "chapterhouse_delivery_queue", state="pending") == 2
    assert sample(seeded, "chapterhouse_delivery_queue", state="failing") == 1
    assert sample(seeded, "chapterhouse_delivery_queue", state="dead") == 1
    assert sample(seeded, "chapterhouse_delivery_queue", state="sent") == 1

    async with node.services.db.write() as session:
        requeued = await delivery_admin.requeue(
            session, ids=[ids["dead"]], now=node.services.clock.now()
        )
    assert requeued == 1
    after = await scrape(node)
    assert sample(after, "chapterhouse_delivery_queue", state="pending") == 3
    assert sample(after, "chapterhouse_delivery_queue", state="dead") == 0


async def test_unavailable_domains_are_counted(nodes):
    node = await nodes(run_workers=False)
    now = node.services.clock.now()
    async with node.services.db.write() as session:
        for host in ("down.example", "flaky.example", "gone.example"):
            await domain_repo.record_failure(session, host, now - timedelta(days=2), timedelta(0))
        await domain_repo.record_success(session, "flaky.example", now)
    assert sample(await scrape(node), "chapterhouse_unavailable_domains") == 2


async def test_recorded_outcomes_and_inbox_counts_show_in_the_scrape(nodes):
    node = await nodes(run_workers=False)
    metrics = node.runner.app[METRICS]
    first = await scrape(node)
    for outcome in ("sent", "retry", "dead", "held"):  # present before anything happened
        assert sample(first, "chapterhouse_deliveries_total", outcome=outcome) == 0
    base = sample(first, "chapterhouse_delivery_seconds_count")

    metrics.observe_delivery("sent", 0.004)
    metrics.observe_delivery("sent", 0.2)
    metrics.observe_delivery("dead", 12.0)
    metrics.observe_delivery("held", 0.0)  # not an attempt: counted, not timed
    metrics.inbox_accepted("Follow")
    metrics.inbox_accepted("Follow")
    metrics.inbox_accepted("NotAnActivity")
    metrics.inbox_refused(401)

    got = await scrape(node)
    assert sample(got, "chapterhouse_deliveries_total", outcome="sent") == 2
    assert sample(got, "chapterhouse_deliveries_total", outcome="dead") == 1
    assert sample(got, "chapterhouse_deliveries_total", outcome="held") == 1
    assert sample(got, "chapterhouse_deliveries_total", outcome="retry") == 0
    assert sample(got, "chapterhouse_delivery_seconds_count") == base + 3
    assert sample(got, "chapterhouse_delivery_seconds_sum") == pytest.approx(12.204)
    assert sample(got, "chapterhouse_delivery_seconds_bucket", le="0.005") == 1
    assert sample(got, "chapterhouse_delivery_seconds_bucket", le="0.25") == 2
    assert sample(got, "chapterhouse_delivery_seconds_bucket", le="30.0") == 3
    assert sample(got, "chapterhouse_inbox_accepted_total", type="Follow") == 2
    assert sample(got, "chapterhouse_inbox_accepted_total", type="other") == 1
    assert sample(got, "chapterhouse_inbox_refused_total", status="401") == 1


async def test_each_node_has_its_own_registry(nodes):
    one = await nodes(run_workers=False)
    two = await nodes(run_workers=False)
    one.runner.app[METRICS].inbox_refused(413)
    assert sample(await scrape(one), "chapterhouse_inbox_refused_total", status="413") == 1
    assert ("chapterhouse_inbox_refused_total", frozenset({("status", "413")})) not in (
        await scrape(two)
    )


async def test_a_failed_refresh_drops_the_gauges_instead_of_reporting_stale_ones(tmp_path):
    metrics = Metrics()
    good = open_database(sqlite_url(str(tmp_path / "good.db")))
    unmigrated = open_database(sqlite_url(str(tmp_path / "empty.db")))
    try:
        await migrate(good.engine)
        await metrics.refresh(good)
        assert b"chapterhouse_delivery_queue{" in generate_latest(metrics.registry)
        with pytest.raises(Exception, match="deliveries"):
            await metrics.refresh(unmigrated)
        text = generate_latest(metrics.registry)
        assert b"chapterhouse_delivery_queue{" not in text
        assert b"chapterhouse_deliveries_total" in text  # the in-process metrics remain
    finally:
        await good.dispose()
        await unmigrated.dispose()


async def test_real_deliveries_and_inbox_traffic_move_the_counters(nodes):
    """Wired for real: a follow between two nodes counts on both sides."""
    from node.features.following.follow import follow
    from tests.rig.nodes import eventually

    a, b = await nodes(), await nodes()
    chapter = (await b.chapter("greenpark")).actor
    await a.member("alice")
    await follow(a.services, "alice", chapter.ap_id)

    async def counted() -> bool:
        sent_a = sample(await scrape(a), "chapterhouse_deliveries_total", outcome="sent")
        sent_b = sample(await scrape(b), "chapterhouse_deliveries_total", outcome="sent")
        return sent_a >= 1 and sent_b >= 1

    await eventually(counted, what="the Follow and the Accept to be counted as sent")
    assert sample(await scrape(b), "chapterhouse_inbox_accepted_total", type="Follow") == 1
    assert sample(await scrape(a), "chapterhouse_inbox_accepted_total", type="Accept") == 1
