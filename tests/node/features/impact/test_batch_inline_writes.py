"""A batch written through the event loop's own SQLite connection (``write_session``: updates by
primary key as plain sqlite3 ``executemany``, ``storage.repositories.batch_updates``) leaves the
same rows as the same reports counted one by one through the ordinary async session.

The batch is cut in two so that the second part updates rows the first wrote (reports, their
contributions, campaign totals, chapter sums, campaign states): the statements the fast path
compiles for plain sqlite3, with their values converted as SQLAlchemy would (aware datetimes,
JSON documents, booleans, decimal text)."""

from __future__ import annotations

from typing import Any

import pytest

from node.features.impact.batch_intake import apply_reports, write_session
from storage.repositories import batch_updates
from tests.node.features.impact.conftest import MakeServices
from tests.node.features.impact.test_batch_intake import _batch, _state, _world
from tests.rig.database import on_postgresql


@pytest.mark.skipif(on_postgresql(), reason="SQLite's inline connection only")
async def test_inline_batches_end_as_one_by_one(
    make_services: MakeServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_by_one, batched = await make_services(), await make_services()
    items, expected = _batch(await _world(one_by_one))
    _batch(await _world(batched))
    assert batched.db.inline is not None  # an SQLite file: write_session writes inline

    fast: list[str] = []
    real_driver = batch_updates._driver

    def spying(session: Any) -> Any:
        conn = real_driver(session)
        if conn is not None:
            fast.append("inline")
        return conn

    monkeypatch.setattr(batch_updates, "_driver", spying)

    outcomes = []
    for item in items:
        async with one_by_one.db.write() as session:
            outcomes.extend(await apply_reports(session, one_by_one, [item]))
    together: list[str] = []
    half = len(items) // 2
    for part in (items[:half], items[half:]):
        async with write_session(batched.db) as session:
            together.extend(await apply_reports(session, batched, part))
    for item in items:  # and again, one at a time: every row is updated in place once more
        async with write_session(batched.db) as session:
            await apply_reports(session, batched, [item])
        async with one_by_one.db.write() as session:
            await apply_reports(session, one_by_one, [item])

    assert outcomes == expected
    assert together == expected
    assert fast, "the inline path was not taken"
    first, second = await _state(one_by_one), await _state(batched)
    for table in first:
        assert first[table] == second[table], table
