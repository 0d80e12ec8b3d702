from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.engine import Database, open_database, sqlite_url
from storage.migrate import migrate


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = open_database(sqlite_url(str(tmp_path / "test.db")))
    await migrate(database.engine)
    yield database
    await database.dispose()
