"""Leased delivery rows waiting for a free slot, taken in turn across hosts.

The worker leases rows in large batches (one transaction for hundreds of rows) but sends at
most ``per_host`` at a time to any host. Rows wait here per host; :meth:`ReadyRows.pop` hands
out the next row of the next host with a free slot, round robin, so a host with many rows
never starves the others and a slow host only holds up its own rows.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable

from storage.repositories.deliveries import ClaimedDelivery


class ReadyRows:
    def __init__(self) -> None:
        self._rows: dict[str, deque[tuple[float, ClaimedDelivery]]] = {}
        self._turns: deque[str] = deque()  # hosts with waiting rows, in round-robin order
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def per_host(self) -> Counter[str]:
        return Counter({host: len(rows) for host, rows in self._rows.items()})

    def add(self, rows: Iterable[ClaimedDelivery], leased_at: float) -> None:
        for row in rows:
            waiting = self._rows.get(row.host)
            if waiting is None:
                waiting = self._rows[row.host] = deque()
                self._turns.append(row.host)
            waiting.append((leased_at, row))
            self._count += 1

    def pop(self, in_flight: Counter[str], per_host: int) -> ClaimedDelivery | None:
        """The next row whose host has fewer than ``per_host`` rows in flight, if any."""
        for _ in range(len(self._turns)):
            host = self._turns[0]
            self._turns.rotate(-1)
            if in_flight[host] < per_host:
                return self._take(host)
        return None

    def stale(self, leased_before: float) -> list[ClaimedDelivery]:
        """Remove and return rows leased before ``leased_before`` (their lease runs short)."""
        out: list[ClaimedDelivery] = []
        for host in list(self._turns):
            waiting = self._rows[host]
            while waiting and waiting[0][0] < leased_before:
                out.append(self._take(host))
        return out

    def _take(self, host: str) -> ClaimedDelivery:
        waiting = self._rows[host]
        _, row = waiting.popleft()
        self._count -= 1
        if not waiting:
            del self._rows[host]
            self._turns.remove(host)
        return row
