"""A one-report batch on SQLite's inline connection (the inbox worker's ``Create{Note}`` path)
costs its index searches, not SQLAlchemy's statement building, and an update of a held report
leaves its contribution's index entries alone.

Counted by tracing what the plain sqlite3 connection runs (``set_trace_callback``) and by
watching the ``InlineSession.execute`` that every SQLAlchemy statement goes through."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bench.aggregate_world import measures
from node.features.impact.batch_intake import apply_reports, write_session
from storage.inline_session import InlineSession
from tests.node.features.impact.conftest import MakeServices
from tests.node.features.impact.test_batch_intake import _doc, _item, _state, _world
from tests.rig.database import on_postgresql

pytestmark = pytest.mark.skipif(on_postgresql(), reason="SQLite's inline connection only")


async def test_a_new_version_runs_as_plain_sqlite3_and_leaves_index_columns_alone(
    make_services: MakeServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    services, reference = await make_services(), await make_services()
    c0 = (await _world(services))[0]
    await _world(reference)
    first, newer = (
        _doc(c0, 1, 5, measures(30, Decimal(4))),
        _doc(c0, 1, 6, measures(31, Decimal(5))),
    )
    async with write_session(services.db) as session:
        assert await apply_reports(session, services, [_item(first)]) == ["counted"]

    through_sqlalchemy: list[Any] = []
    real_execute = InlineSession.execute

    async def watching(self: InlineSession, statement: Any, *args: Any, **kwargs: Any) -> Any:
        through_sqlalchemy.append(statement)
        return await real_execute(self, statement, *args, **kwargs)

    monkeypatch.setattr(InlineSession, "execute", watching)
    traced: list[str] = []
    async with write_session(services.db) as session:
        raw = session.sync_session.connection().connection.driver_connection
        raw.set_trace_callback(traced.append)
        try:
            assert await apply_reports(session, services, [_item(newer)]) == ["counted"]
        finally:
            raw.set_trace_callback(None)

    assert through_sqlalchemy == []  # every statement compiled once, run by sqlite3
    statements = [s for s in traced if not s.startswith(("BEGIN", "SAVEPOINT", "RELEASE"))]
    # One search per kind of row: calls (two levels, their campaigns joined), follows, the
    # report, the campaign's state, the contribution, exclusions, then the two running sums.
    # Nothing is inserted: every row exists already.
    assert sum(s.startswith("SELECT") for s in statements) == 9, statements
    assert not [s for s in statements if s.startswith("INSERT")]
    updates = [s for s in statements if s.startswith("UPDATE contributions")]
    assert len(updates) == 1
    set_clause = updates[0].split(" WHERE ")[0]
    for indexed in ("report", "chapter", "call", "retracted"):
        assert f"{indexed}=" not in set_clause.replace(" ", "").replace('"', ""), set_clause

    # The same two versions through the ordinary async session leave the same rows.
    monkeypatch.undo()
    for doc in (first, newer):
        async with reference.db.write() as session:
            assert await apply_reports(session, reference, [_item(doc)]) == ["counted"]
    assert await _state(services) == await _state(reference)
