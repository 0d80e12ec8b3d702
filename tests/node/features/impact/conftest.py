"""A migrated database and the node's services around it, for the impact feature's unit tests
(no HTTP server: these call the feature's functions directly)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from bench.aggregate_world import NODE, T0
from node.runtime.app import build_services
from node.runtime.clock import FrozenClock
from node.runtime.config import Settings
from node.runtime.services import Services
from storage.engine import open_database
from storage.migrate import migrate
from tests.rig.database import fresh_database_url

MakeServices = Callable[[], Coroutine[Any, Any, Services]]


@pytest.fixture
async def make_services(tmp_path: Path) -> AsyncIterator[MakeServices]:
    """Each call: a fresh database (migrated) and services on it, the clock frozen at T0."""
    made: list[Services] = []

    async def make() -> Services:
        directory = tmp_path / f"node{len(made)}"
        directory.mkdir()
        db = open_database(await fresh_database_url(directory))
        await migrate(db.engine)
        services = build_services(
            Settings(data_dir=directory, base_url=NODE), db, FrozenClock(T0), "test"
        )
        made.append(services)
        return services

    yield make
    for services in made:
        if services.proof_pool is not None:
            services.proof_pool.close()
        await services.db.dispose()
