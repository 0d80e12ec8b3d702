"""Chapters' assertion keys kept between batches of relayed reports, and the node's proof pool.

A kept key saves parsing the chapter's actor document for every batch; it must never outlive
``key_cache_seconds``, nor the stored actor row it was read from (an ``Update`` or a refetch
that stores a new key retires it at once). The pool is the node's: built from ``proof_workers``
with the services, used by ``ingest_many`` when the caller passes none, closed with them.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bench.aggregate_world import NODE, STARTED, T0, Chapter, actor_row, measures, report_doc
from node.features.impact import proof_batch
from node.features.impact.intake import Incoming, ingest_many
from node.features.impact.proof_batch import AUTO, AssertionKeys, ProofPool
from node.runtime.clock import FrozenClock
from node.runtime.config import ConfigError, Settings
from node.runtime.services import Services
from node.runtime.wiring import build_services, close_services
from protocol.actors import Actor
from protocol.errors import ProofError
from protocol.keys import ed25519_private_to_multibase, generate_ed25519_key
from storage.engine import open_database
from storage.models import RemoteActor
from tests.node.features.impact.conftest import MakeServices
from tests.node.features.impact.test_batch_intake import _signed_world

RELAY = "https://relay.example/actor"


def _doc(chapter: Chapter, i: int, hours: int) -> dict[str, Any]:
    when = STARTED + timedelta(hours=hours)
    return report_doc(chapter, i, when, measures(1, Decimal(1)), signed=True)


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The actor documents ``proof_batch`` parses for keys, by id."""
    parsed: list[str] = []
    real = proof_batch.parse_actor

    def counting(document: Any, **kwargs: Any) -> Actor:
        actor = real(document, **kwargs)
        parsed.append(actor.id)
        return actor

    monkeypatch.setattr(proof_batch, "parse_actor", counting)
    return parsed


async def _take(services: Services, *docs: dict[str, Any]) -> list[Any]:
    return await ingest_many(services, [Incoming(d, RELAY, relayed=True) for d in docs])


async def test_a_chapters_key_is_kept_between_batches_for_key_cache_seconds(
    make_services: MakeServices, monkeypatch: pytest.MonkeyPatch
):
    services = await make_services()
    c0, c1, *_ = await _signed_world(services)
    parsed = _count_parses(monkeypatch)
    assert await _take(services, _doc(c0, 1, 1), _doc(c1, 1, 1)) == ["counted", "counted"]
    assert sorted(parsed) == sorted([c0.actor, c1.actor])
    parsed.clear()
    # The next batch from the same chapters: their kept keys, no actor document parsed.
    assert await _take(services, _doc(c0, 1, 2), _doc(c1, 1, 2)) == ["counted", "counted"]
    assert parsed == []
    # Just before key_cache_seconds the key is still kept; from then on it is read again.
    clock = services.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(timedelta(seconds=services.settings.key_cache_seconds - 1))
    assert await _take(services, _doc(c0, 1, 3)) == ["counted"]
    assert parsed == []
    clock.advance(timedelta(seconds=1))
    assert await _take(services, _doc(c0, 1, 4)) == ["counted"]
    assert parsed == [c0.actor]


async def test_a_kept_key_is_dropped_as_soon_as_the_chapters_actor_row_changes(
    make_services: MakeServices,
):
    services = await make_services()
    c0, *_ = await _signed_world(services)
    assert await _take(services, _doc(c0, 1, 1)) == ["counted"]
    # The chapter rotates its assertion key; the node stores its new document (an Update).
    rotated = Chapter(c0.n, c0.campaign, ed25519_private_to_multibase(generate_ed25519_key()))
    row = actor_row(rotated, fetched_at=T0 + timedelta(seconds=1))
    async with services.db.write() as session:
        await session.execute(
            update(RemoteActor)
            .where(RemoteActor.ap_id == c0.actor)
            .values(document=row["document"], fetched_at=row["fetched_at"])
        )
    (refused,) = await _take(services, _doc(c0, 1, 2))  # by the old key, kept a moment ago
    assert isinstance(refused, ProofError)
    assert await _take(services, _doc(rotated, 1, 3)) == ["counted"]


def test_kept_keys_are_bounded_and_expire() -> None:
    keys = AssertionKeys(size=2)
    keys.put("a", T0, T0 + timedelta(seconds=5), {"a#k": b"1"})
    keys.put("b", T0, T0 + timedelta(seconds=5), {"b#k": b"2"})
    keys.put("c", T0, T0 + timedelta(seconds=5), {"c#k": b"3"})
    assert len(keys) == 2 and keys.get("a", T0, T0) is None  # the least recently used left
    assert keys.get("b", T0, T0 + timedelta(seconds=4)) == {"b#k": b"2"}
    assert keys.get("b", T0 + timedelta(microseconds=1), T0) is None  # another row: dropped
    assert keys.get("c", T0, T0 + timedelta(seconds=5)) is None  # expired
    assert len(keys) == 0


async def test_the_node_builds_its_proof_pool_from_proof_workers_and_closes_it(tmp_path: Path):
    def services(workers: int) -> Services:
        directory = tmp_path / f"w{workers}"
        directory.mkdir()
        settings = Settings(data_dir=directory, base_url=NODE, proof_workers=workers)
        db = open_database(settings.database_url)
        return build_services(settings, db, FrozenClock(T0), "test")

    assert Settings(data_dir=tmp_path, base_url=NODE).proof_workers == AUTO
    auto = services(AUTO)
    assert auto.proof_pool is not None
    assert auto.proof_pool.workers == ProofPool.default_workers()
    assert ProofPool.default_workers(1) == 0 and ProofPool.default_workers(4) == 3
    one = services(1)
    assert one.proof_pool is not None and one.proof_pool.workers == 1
    assert not one.proof_pool.started  # no process until a batch is sent
    outcomes = await one.proof_pool.verify([({}, b"")] * proof_batch.POOL_MIN, T0, timedelta())
    assert one.proof_pool.started and all(o[0] == "failed" for o in outcomes)
    await close_services(one)
    assert not one.proof_pool.started
    await close_services(auto)
    with pytest.raises(ConfigError, match="proof_workers"):
        Settings(data_dir=tmp_path, base_url=NODE, proof_workers=-2)


async def test_ingest_many_uses_the_nodes_pool_and_its_kept_keys(make_services: MakeServices):
    services = await make_services()
    c0, *_ = await _signed_world(services)
    assert services.proof_pool is not None and len(services.proof_pool.keys) == 0
    assert await _take(services, _doc(c0, 1, 1)) == ["counted"]
    assert len(services.proof_pool.keys) == 1
