"""The database layer on a real migrated SQLite file."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import StatementError

from storage.errors import AlreadyExists
from storage.migrate import migrate
from storage.models import Delivery, InboxItem
from storage.repositories import actors as actor_repo
from storage.repositories import deliveries as delivery_repo
from storage.repositories import follows as follow_repo
from storage.repositories import inbox as inbox_repo
from storage.repositories import outbox as outbox_repo
from tests.storage.builders import NOW, local_actor


async def test_migrations_are_idempotent_and_use_wal(db):
    await migrate(db.engine)
    async with db.read() as session:
        if db.is_sqlite:
            assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            tables = set((await session.execute(text("SELECT name FROM sqlite_master"))).scalars())
        else:
            tables = set(
                (
                    await session.execute(
                        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                    )
                ).scalars()
            )
    assert {"local_actors", "remote_actors", "follows", "inbox_items", "deliveries"} <= tables


async def test_naive_datetimes_are_refused_and_aware_ones_round_trip(db):
    async with db.write() as session:
        await actor_repo.add_local_actor(session, local_actor("greenpark"))
    async with db.read() as session:
        row = await actor_repo.local_actor_by_name(session, "greenpark")
    assert row.created_at == NOW and row.created_at.tzinfo is not None
    bad = local_actor("naive")
    bad.created_at = datetime(2027, 1, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(StatementError, match="naive"):
        async with db.write() as session:
            session.add(bad)
            await session.flush()


async def test_duplicate_actor_names_are_refused(db):
    async with db.write() as session:
        await actor_repo.add_local_actor(session, local_actor("greenpark"))
    with pytest.raises(AlreadyExists):
        async with db.write() as session:
            await actor_repo.add_local_actor(session, local_actor("greenpark"))


def _inbox_row(activity_id: str) -> dict:
    body = f'{{"id": "{activity_id}"}}'.encode()
    return {
        "activity_id": activity_id,
        "activity_type": "Follow",
        "actor": "https://a.example/x",
        "body": body,
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "state": "received",
        "attempts": 0,
        "received_at": NOW,
    }


async def test_inbox_insert_skips_known_activity_ids(db):
    async with db.write() as session:
        await inbox_repo.insert_many(
            session, [_inbox_row("https://a.example/1"), _inbox_row("https://a.example/1")]
        )
    async with db.write() as session:
        await inbox_repo.insert_many(
            session, [_inbox_row("https://a.example/1"), _inbox_row("https://a.example/2")]
        )
    async with db.read() as session:
        count = await session.scalar(select(func.count()).select_from(InboxItem))
        items = await inbox_repo.next_received(session, 10, now=NOW)
    assert count == 2
    assert [i.body for i in items] == [{"id": "https://a.example/1"}, {"id": "https://a.example/2"}]


async def test_deliveries_are_unique_per_inbox_and_claimed_under_a_lease(db):
    async with db.write() as session:
        actor = await actor_repo.add_local_actor(session, local_actor("greenpark"))
        activity = await outbox_repo.add(
            session,
            ap_id="https://h.example/activities/1",
            actor_id=actor.id,
            activity_type="Create",
            body={"id": "https://h.example/activities/1"},
            public=True,
            now=NOW,
        )
        targets = [
            ("https://a.example/inbox", "a.example"),
            ("https://b.example/inbox", "b.example"),
            ("https://a.example/inbox", "a.example"),
        ]
        await delivery_repo.enqueue(session, activity.id, targets, NOW)
        await delivery_repo.enqueue(session, activity.id, targets, NOW)  # a re-run changes nothing
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 2

    lease = timedelta(seconds=60)
    async with db.write() as session:
        first = await delivery_repo.claim_due(session, now=NOW, lease=lease, limit=10)
    async with db.write() as session:
        again = await delivery_repo.claim_due(
            session, now=NOW + timedelta(seconds=1), lease=lease, limit=10
        )
    assert {d.inbox for d in first} == {"https://a.example/inbox", "https://b.example/inbox"}
    assert again == []  # leased rows are not handed out twice

    async with db.write() as session:
        await delivery_repo.mark_sent(session, first[0].id, now=NOW, status=202)
    async with db.write() as session:
        after_lease = await delivery_repo.claim_due(
            session, now=NOW + lease * 2, lease=lease, limit=10
        )
    # The crashed worker's other row comes back once its lease expires; the sent one never does.
    assert [d.id for d in after_lease] == [first[1].id]


async def test_follow_collections(db):
    async with db.write() as session:
        for i, state in enumerate(["accepted", "pending", "accepted"]):
            await follow_repo.put_follow(
                session,
                activity_id=f"https://a.example/f{i}",
                follower=f"https://a.example/u{i}",
                target="https://h.example/g",
                follower_inbox="https://a.example/inbox",
                state=state,
                now=NOW,
            )
    async with db.read() as session:
        assert await follow_repo.count_followers(session, "https://h.example/g") == 2
        assert await follow_repo.followers_page(
            session, "https://h.example/g", offset=0, limit=10
        ) == ["https://a.example/u0", "https://a.example/u2"]
        assert await follow_repo.follower_inboxes(session, "https://h.example/g") == [
            "https://a.example/inbox"
        ]
