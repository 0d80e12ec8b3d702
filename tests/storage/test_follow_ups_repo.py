"""The follow-up queue: recorded once per (kind, key), claimed under a lease, per-host aware."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.models import FollowUp
from storage.repositories import follow_ups as repo
from storage.repositories.follow_ups import NewFollowUp
from tests.storage.builders import NOW

LEASE = timedelta(minutes=5)


def item(key: str, host: str = "a.example", kind: str = "fetch") -> NewFollowUp:
    return NewFollowUp(kind=kind, key=key, payload={"key": key}, host=host)


async def rows(db) -> list[FollowUp]:
    async with db.read() as session:
        return list(await session.scalars(select(FollowUp).order_by(FollowUp.id)))


async def test_the_same_work_is_recorded_once_whatever_asks_for_it(db):
    long_key = "https://a.example/" + "x" * 3000
    async with db.write() as session:
        await repo.enqueue(session, [item("1"), item("1"), item(long_key)], NOW)
    async with db.write() as session:  # a replayed activity asks again, even once it is done
        await repo.enqueue(session, [item("1"), item(long_key), item("1", kind="other")], NOW)
    stored = await rows(db)
    assert [(r.kind, r.key) for r in stored] == [
        ("fetch", "1"),
        ("fetch", repo.stored_key(long_key)),
        ("other", "1"),
    ]
    assert stored[1].key.startswith("sha256:") and stored[0].payload == {"key": "1"}
    assert {r.state for r in stored} == {"pending"} and {r.attempts for r in stored} == {0}


async def test_claims_take_due_rows_under_a_lease_and_skip_busy_hosts(db):
    async with db.write() as session:
        await repo.enqueue(session, [item("a1"), item("a2"), item("b1", host="b.example")], NOW)
        await repo.enqueue(session, [item("later")], NOW + timedelta(hours=1))
    async with db.write() as session:
        claimed = await repo.claim_due(
            session, now=NOW, lease=LEASE, limit=10, busy_hosts={"a.example"}
        )
    assert [c.key for c in claimed] == ["b1"]
    async with db.write() as session:  # leased: not claimed again while the lease runs
        claimed = await repo.claim_due(session, now=NOW, lease=LEASE, limit=10)
    assert [c.key for c in claimed] == ["a1", "a2"]
    async with db.write() as session:
        assert (
            await repo.claim_due(session, now=NOW + timedelta(minutes=1), lease=LEASE, limit=9)
            == []
        )
    async with db.write() as session:  # a crashed worker's lease expires: the rows come back
        claimed = await repo.claim_due(
            session, now=NOW + LEASE + timedelta(seconds=1), lease=LEASE, limit=10
        )
    assert [c.key for c in claimed] == ["a1", "a2", "b1"]
    async with db.write() as session:
        await repo.release(session, [c.id for c in claimed])
        claimed = await repo.claim_due(session, now=NOW + timedelta(hours=2), lease=LEASE, limit=2)
    assert [c.key for c in claimed] == ["a1", "a2"]  # oldest due first, up to the limit


async def test_outcomes_done_retry_and_dead(db):
    async with db.write() as session:
        await repo.enqueue(session, [item("done"), item("retry"), item("dead")], NOW)
    async with db.write() as session:
        claimed = {c.key: c for c in await repo.claim_due(session, now=NOW, lease=LEASE, limit=3)}
        later = NOW + timedelta(seconds=30)
        await repo.mark_done(session, claimed["done"].id, now=NOW)
        await repo.mark_retry(
            session, claimed["retry"].id, now=NOW, next_attempt_at=later, error="HTTP 503"
        )
        await repo.mark_dead(session, claimed["dead"].id, now=NOW, error="refused")
    by_key = {r.key: r for r in await rows(db)}
    assert (by_key["done"].state, by_key["done"].attempts) == ("done", 1)
    retry = by_key["retry"]
    assert (retry.state, retry.attempts, retry.next_attempt_at) == ("pending", 1, later)
    assert retry.locked_until is None and retry.last_error == "HTTP 503"
    assert (by_key["dead"].state, by_key["dead"].last_error) == ("dead", "refused")
    async with db.write() as session:
        assert await repo.claim_due(session, now=NOW, lease=LEASE, limit=9) == []
        assert [c.key for c in await repo.claim_due(session, now=later, lease=LEASE, limit=9)] == [
            "retry"
        ]
        assert await repo.counts_by_state(session) == {"done": 1, "pending": 1, "dead": 1}
