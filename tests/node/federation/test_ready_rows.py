"""Leased rows wait per host and are handed out in turn, never past a host's cap."""

from collections import Counter

from node.federation.delivery.ready_rows import ReadyRows
from storage.repositories.deliveries import ClaimedDelivery


def _row(i: int, host: str) -> ClaimedDelivery:
    return ClaimedDelivery(i, f"https://{host}/inbox", host, 0, f"https://h/a{i}", 1, "{}", "pem")


def test_rows_are_taken_round_robin_and_never_past_a_hosts_cap():
    ready = ReadyRows()
    ready.add([_row(i, "a.example") for i in range(4)] + [_row(10, "b.example")], leased_at=1.0)
    ready.add([_row(20, "c.example")], leased_at=2.0)
    assert len(ready) == 6
    assert ready.per_host() == Counter({"a.example": 4, "b.example": 1, "c.example": 1})

    in_flight: Counter[str] = Counter()
    taken = []
    while (row := ready.pop(in_flight, per_host=2)) is not None:
        in_flight[row.host] += 1
        taken.append(row.id)
    assert taken == [0, 10, 20, 1]  # one of each host in turn, then a's second slot
    assert len(ready) == 2

    in_flight["a.example"] -= 1  # one of a's deliveries finished
    row = ready.pop(in_flight, per_host=2)
    assert row is not None and row.id == 2
    in_flight["a.example"] += 1
    assert ready.pop(in_flight, per_host=2) is None


def test_rows_waiting_too_long_are_given_back_oldest_first():
    ready = ReadyRows()
    ready.add([_row(1, "slow.example"), _row(2, "fast.example")], leased_at=1.0)
    ready.add([_row(3, "slow.example")], leased_at=5.0)
    stale = ready.stale(leased_before=3.0)
    assert sorted(r.id for r in stale) == [1, 2]
    assert len(ready) == 1
    assert ready.per_host() == Counter({"slow.example": 1})
    assert [r.id for r in ready.stale(float("inf"))] == [3]
    assert len(ready) == 0 and ready.pop(Counter(), per_host=1) is None
