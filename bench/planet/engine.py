"""The discrete-event core: a virtual clock, a heap of events, and FIFO resources.

Nothing here knows about ActivityPub. An event is a time and a callback; callbacks schedule
more events. A resource (a node's CPU core, its uplink, a receiving server's workers) is a
set of identical servers taking jobs first come, first served: a job that arrives when all are
busy waits, and the wait is what the bottleneck report shows.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

Action = Callable[[], None]


class Clock:
    """Virtual time in seconds and the events still to come (ties run in scheduling order)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._queue: list[tuple[float, int, Action]] = []
        self._order = itertools.count()
        self.handled = 0

    def at(self, when: float, action: Action) -> None:
        heapq.heappush(self._queue, (max(when, self.now), next(self._order), action))

    def after(self, delay: float, action: Action) -> None:
        self.at(self.now + delay, action)

    def run(self, until: float = float("inf"), stop: Callable[[], bool] | None = None) -> None:
        """Run events in time order until none is left, ``until`` passes or ``stop()`` holds."""
        queue = self._queue
        while queue:
            when, _, action = queue[0]
            if when > until:
                self.now = until
                return
            heapq.heappop(queue)
            self.now = when
            action()
            self.handled += 1
            if stop is not None and self.handled % 256 == 0 and stop():
                return

    @property
    def pending(self) -> int:
        return len(self._queue)


@dataclass
class Resource:
    """``servers`` identical servers, FIFO. ``reserve`` books one for a job of ``cost`` seconds
    arriving now and returns when it ends; busy time and the longest wait are kept."""

    name: str
    servers: int = 1
    busy: float = 0.0  # server-seconds of work done
    jobs: int = 0
    waited: float = 0.0  # total seconds jobs waited before starting
    max_wait: float = 0.0
    max_queue: int = 0  # most jobs waiting at once (estimated from the backlog at arrival)
    first: float = float("inf")  # first and last busy instant: utilisation is over this span
    last: float = 0.0
    _free: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._free = [0.0] * self.servers

    def reserve(self, now: float, cost: float) -> float:
        free = self._free
        start = free[0] if free[0] > now else now
        end = start + cost
        if self.servers == 1:
            free[0] = end
        else:
            heapq.heapreplace(free, end)
        self.busy += cost
        self.jobs += 1
        if start > now:
            wait = start - now
            self.waited += wait
            if wait > self.max_wait:
                self.max_wait = wait
            if cost > 0:
                queue = int(wait * self.servers / cost)
                if queue > self.max_queue:
                    self.max_queue = queue
        if start < self.first:
            self.first = start
        if end > self.last:
            self.last = end
        return end

    def utilisation(self, start: float, end: float) -> float:
        """Share of the servers' time busy between ``start`` and ``end`` (approximately: work
        is counted whole, so a window cutting a long job can read slightly above 100%)."""
        span = max(end - start, 1e-9) * self.servers
        return min(self.busy / span, 9.99)
