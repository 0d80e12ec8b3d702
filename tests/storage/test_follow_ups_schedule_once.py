"""``schedule_once``: coalesced work (a call's participation Update) runs at most once per
spacing, and a change made while a run is in flight is never lost to that run's ``mark_done``."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.models import FollowUp
from storage.repositories import follow_ups as repo
from storage.repositories.follow_ups import NewFollowUp
from tests.storage.builders import NOW

SPACING = timedelta(seconds=60)
LEASE = timedelta(minutes=5)
WORK = NewFollowUp(
    kind="call_participation_update", key="https://a.example/c", payload={}, host="a"
)


async def _row(db) -> FollowUp:
    async with db.read() as session:
        rows = list(await session.scalars(select(FollowUp)))
    assert len(rows) == 1
    return rows[0]


async def _schedule(db, now) -> bool:
    async with db.write() as session:
        return await repo.schedule_once(session, WORK, now=now, spacing=SPACING)


async def _run(db, now):
    async with db.write() as session:
        claimed = await repo.claim_due(session, now=now, lease=LEASE, limit=5)
    return claimed


async def test_changes_coalesce_and_run_again_a_spacing_after_the_last_run(db):
    assert await _schedule(db, NOW)  # the first change: due at once
    assert not await _schedule(db, NOW + timedelta(seconds=1))  # coalesced into it
    (claimed,) = await _run(db, NOW + timedelta(seconds=2))
    async with db.write() as session:
        await repo.mark_done(session, claimed.id, now=NOW + timedelta(seconds=2))
    assert await _schedule(db, NOW + timedelta(seconds=3))  # done: pending again...
    row = await _row(db)
    assert (row.state, row.attempts) == ("pending", 0)
    assert row.next_attempt_at == NOW + timedelta(seconds=2) + SPACING  # ...a spacing later
    assert not await _schedule(db, NOW + timedelta(seconds=4))
    assert await _run(db, NOW + timedelta(seconds=61)) == []  # not due yet
    assert len(await _run(db, NOW + timedelta(seconds=62))) == 1


async def test_a_change_during_a_run_is_not_lost_to_its_mark_done(db):
    await _schedule(db, NOW)
    (claimed,) = await _run(db, NOW)  # running (may already have read the old state)
    assert await _schedule(db, NOW + timedelta(seconds=1))
    async with db.write() as session:
        await repo.mark_done(session, claimed.id, now=NOW + timedelta(seconds=2))
    row = await _row(db)
    assert (row.state, row.locked_until, row.attempts) == ("pending", None, 0)  # not "done"
    assert row.next_attempt_at == NOW + timedelta(seconds=1) + SPACING


async def test_absorb_settles_waiting_work_but_not_a_run_in_flight(db):
    await _schedule(db, NOW)
    async with db.write() as session:
        await repo.absorb(session, WORK.kind, WORK.key, now=NOW + timedelta(seconds=1))
    row = await _row(db)
    assert (row.state, row.updated_at) == ("done", NOW + timedelta(seconds=1))
    await _schedule(db, NOW + timedelta(seconds=2))
    await _run(db, NOW + timedelta(seconds=61))
    async with db.write() as session:  # leased: the run goes on and marks its own row
        await repo.absorb(session, WORK.kind, WORK.key, now=NOW + timedelta(seconds=62))
    assert (await _row(db)).state == "pending"
