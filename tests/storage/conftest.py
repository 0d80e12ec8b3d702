from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.engine import Database, open_database
from storage.migrate import migrate
from tests.rig.database import fresh_database_url


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = open_database(await fresh_database_url(tmp_path))
    await migrate(database.engine)
    yield database
    await database.dispose()
