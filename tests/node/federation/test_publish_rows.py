"""Publishing stores the same rows with Core INSERTs: no ORM object lingers in the session.

On a real node's database (SQLite by default, PostgreSQL under CHAPTERHOUSE_TEST_DATABASE_URL),
through both kinds of write session: the ordinary ``AsyncSession`` and, on SQLite, the inline
one the inbox worker's batches use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.local import create_actor
from node.federation.outbox.publish import publish
from node.runtime.config import Settings
from node.runtime.services import Services
from node.runtime.wiring import close_services, open_services
from storage.models import Delivery, OutboxActivity
from tests.rig.database import fresh_database_url

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings(
        data_dir=tmp_path,
        base_url="http://127.0.0.1:9",
        database_url=await fresh_database_url(tmp_path),
        allow_private_network=True,
        run_workers=False,
    )
    opened = await open_services(settings)
    yield opened
    await close_services(opened)


def _session(services: Services, kind: str) -> AbstractAsyncContextManager[AsyncSession]:
    if kind == "inline":
        if services.db.inline is None:
            pytest.skip("inline sessions exist on SQLite only")
        return services.db.inline.write()
    return services.db.write()


@pytest.mark.parametrize("kind", ["async", "inline"])
async def test_publish_stores_one_activity_and_one_delivery_per_distinct_remote_inbox(
    services: Services, kind: str
) -> None:
    chapter = (await create_actor(services, "greenpark", "chapter")).actor
    call = f"{chapter.ap_id}/calls/1"
    update = {
        "id": services.activity_id(),
        "type": "Update",
        "actor": chapter.ap_id,
        "to": [PUBLIC],
        "object": {"id": call, "type": "Event"},
    }
    accept = {
        "id": services.activity_id(),
        "type": "Accept",
        "actor": chapter.ap_id,
        "to": ["https://a.example/users/ann"],
        "object": "https://a.example/activities/join",
    }
    inboxes = [
        "https://a.example/inbox",
        "https://b.example/users/bo/inbox",
        "https://a.example/inbox",  # shared inbox named twice: one row
        f"{services.settings.base_url}/inbox",  # ourselves: never
        "not a url",  # skipped, not an error
    ]
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    async with _session(services, kind) as session:
        await session.execute(select(1))  # the transaction's BEGIN is not publish's
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            update_pk = await publish(session, services, chapter, update, inboxes)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        accept_pk = await publish(session, services, chapter, accept, ["https://a.example/inbox"])
        # Rows went in by Core INSERTs: nothing for the unit of work to track or flush, and
        # one statement for the activity plus one (executemany) for all its deliveries.
        assert not session.sync_session.new
        assert not any(
            isinstance(obj, OutboxActivity) for obj in session.sync_session.identity_map.values()
        )
        assert len(statements) == 2

    async with services.db.read() as session:
        stored = {row.id: row for row in await session.scalars(select(OutboxActivity))}
        deliveries = list(await session.scalars(select(Delivery).order_by(Delivery.id)))
    assert set(stored) == {update_pk, accept_pk}
    assert stored[update_pk].body == update and stored[update_pk].public
    assert stored[accept_pk].body == accept and not stored[accept_pk].public
    assert (stored[update_pk].activity_type, stored[accept_pk].activity_type) == (
        "Update",
        "Accept",
    )
    assert stored[update_pk].actor_id == chapter.id
    assert [(d.activity_id, d.inbox, d.host, d.ordering_key) for d in deliveries] == [
        (update_pk, "https://a.example/inbox", "a.example", call),
        (update_pk, "https://b.example/users/bo/inbox", "b.example", call),
        (accept_pk, "https://a.example/inbox", "a.example", None),
    ]
    assert {(d.state, d.attempts, d.locked_until) for d in deliveries} == {("pending", 0, None)}
    assert all(d.next_attempt_at == d.created_at for d in deliveries)

    # An activity id is stored once: publishing it again fails, and takes nothing with it.
    with pytest.raises(IntegrityError):
        async with _session(services, kind) as session:
            await publish(session, services, chapter, accept, ["https://c.example/inbox"])
    async with services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 3
