"""Prometheus metrics of one node: what the workers and the inbox count, and queue gauges.

Each app owns a ``Metrics`` with its own ``CollectorRegistry``: prometheus_client's global
registry is process state, and tests (and the federation rig) run several nodes per process.

Queue gauges come from the database. Prometheus collectors are synchronous while our database
is async, so the ``/metrics`` route awaits ``refresh`` first and the collector only reports
the numbers that refresh left behind. If refresh fails the gauges are left out of the scrape
rather than reported stale: an absent series is visible, a frozen one looks healthy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from protocol.activities import ACTIVITY_TYPES
from storage.engine import Database
from storage.repositories import counters, delivery_admin
from storage.repositories import inbox as inbox_repo

#: Outcomes the delivery worker reports; pre-created so their series exist at zero.
DELIVERY_OUTCOMES = ("sent", "retry", "dead", "held")
#: One delivery attempt: a fast local peer answers in a millisecond, the timeout is ~10-30 s.
DELIVERY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass(frozen=True, slots=True)
class _DatabaseSnapshot:
    queue: Mapping[str, int]
    unavailable_domains: int
    inbox_backlog: int
    inbox_handled: int


class _DatabaseGauges(Collector):
    """Reports the last snapshot taken by ``Metrics.refresh`` (nothing before the first)."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def _families(
        self,
    ) -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily, CounterMetricFamily]:
        return (
            GaugeMetricFamily(
                "chapterhouse_delivery_queue",
                "Deliveries by state (failing: pending, tried at least once).",
                labels=["state"],
            ),
            GaugeMetricFamily(
                "chapterhouse_unavailable_domains",
                "Remote hosts marked unavailable; their deliveries are held.",
            ),
            GaugeMetricFamily(
                "chapterhouse_inbox_backlog",
                "Inbox items received and not yet handled (waiting out a retry included).",
            ),
            CounterMetricFamily(
                "chapterhouse_inbox_handled",
                "Inbox items whose handling is over (handled, or failed for good), by any process.",
            ),
        )

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        snapshot = self._metrics.snapshot
        if snapshot is None:
            return ()
        queue, unavailable, backlog, handled = self._families()
        for state, n in snapshot.queue.items():
            queue.add_metric([state], n)
        unavailable.add_metric([], snapshot.unavailable_domains)
        backlog.add_metric([], snapshot.inbox_backlog)
        handled.add_metric([], snapshot.inbox_handled)
        return (queue, unavailable, backlog, handled)


class Metrics:
    """The node's metrics; one per app, handed to whatever records into it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.snapshot: _DatabaseSnapshot | None = None
        self._accepted_by_type: dict[str, Any] = {}
        self.deliveries_total = Counter(
            "chapterhouse_deliveries",
            "Delivery attempts by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in DELIVERY_OUTCOMES:
            self.deliveries_total.labels(outcome=outcome)
        self.delivery_seconds = Histogram(
            "chapterhouse_delivery_seconds",
            "Latency of one delivery attempt.",
            buckets=DELIVERY_BUCKETS,
            registry=self.registry,
        )
        self.inbox_accepted_total = Counter(
            "chapterhouse_inbox_accepted",
            "Activities accepted by the inbox, by type.",
            ["type"],
            registry=self.registry,
        )
        self.inbox_refused_total = Counter(
            "chapterhouse_inbox_refused",
            "Inbox requests refused, by HTTP status.",
            ["status"],
            registry=self.registry,
        )
        self.registry.register(_DatabaseGauges(self))

    def observe_delivery(self, outcome: str, seconds: float) -> None:
        """Count one outcome; a held row was not attempted, so it has no latency to record."""
        self.deliveries_total.labels(outcome=outcome).inc()
        if outcome != "held":
            self.delivery_seconds.observe(seconds)

    def inbox_accepted(self, activity_type: str) -> None:
        """Count by type; names outside our vocabulary become "other", since the type comes
        from a remote peer and every distinct label value is a new series kept forever."""
        label = activity_type if activity_type in ACTIVITY_TYPES else "other"
        child = self._accepted_by_type.get(label)
        if child is None:  # looking a child up costs more than counting: once per type
            child = self._accepted_by_type[label] = self.inbox_accepted_total.labels(type=label)
        child.inc()

    def inbox_refused(self, status: int) -> None:
        self.inbox_refused_total.labels(status=str(status)).inc()

    async def refresh(self, db: Database) -> None:
        """Read the gauges' numbers now; on failure they are dropped, then the error raised."""
        self.snapshot = None
        async with db.read() as session:
            queue = await delivery_admin.queue_counts(session)
            unavailable = await delivery_admin.unavailable_domains(session)
            backlog = await inbox_repo.backlog(session)
            handled = await counters.value(session, counters.INBOX_HANDLED)
        self.snapshot = _DatabaseSnapshot(queue, unavailable, backlog, handled)
