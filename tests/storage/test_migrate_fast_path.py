"""A database already at the newest revision is recognised without loading Alembic."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory

import storage.migrate as migrate_module
from storage.engine import open_database
from storage.migrate import alembic_config, current_revisions, migrate, script_head
from tests.rig.database import fresh_database_url


def test_the_head_read_from_the_scripts_is_alembics_head():
    assert script_head() == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_a_database_at_head_is_left_alone(db, monkeypatch):
    assert await current_revisions(db.engine) == [script_head()]

    def upgrade(*_args: object) -> None:
        raise AssertionError("Alembic was run on a database already at head")

    monkeypatch.setattr(migrate_module, "_upgrade", upgrade)
    await migrate(db.engine)  # no error: nothing to do


async def test_a_database_behind_is_upgraded(tmp_path):
    database = open_database(await fresh_database_url(tmp_path))
    try:
        assert await current_revisions(database.engine) is None  # not even a version table
        await migrate(database.engine, "0006")
        assert await current_revisions(database.engine) == ["0006"]
        await migrate(database.engine)
        assert await current_revisions(database.engine) == [script_head()]
    finally:
        await database.dispose()


@pytest.mark.parametrize(
    "source",
    [
        'revision = "0009"\ndown_revision = ("0007", "0008")\n',  # a merge
        'revision = "0009"\n',  # no down_revision
    ],
)
def test_scripts_it_cannot_read_leave_the_decision_to_alembic(tmp_path, monkeypatch, source):
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "0001_a.py").write_text('revision = "0001"\ndown_revision = None\n')
    (versions / "0009_b.py").write_text(source)
    monkeypatch.setattr(migrate_module, "MIGRATIONS", tmp_path)
    assert script_head() is None


def test_two_heads_leave_the_decision_to_alembic(tmp_path, monkeypatch):
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "a.py").write_text('revision: str = "a"\ndown_revision: str | None = None\n')
    (versions / "b.py").write_text('revision: str = "b"\ndown_revision: str | None = "a"\n')
    (versions / "c.py").write_text('revision: str = "c"\ndown_revision: str | None = "a"\n')
    monkeypatch.setattr(migrate_module, "MIGRATIONS", tmp_path)
    assert script_head() is None
    (versions / "c.py").write_text('revision: str = "c"\ndown_revision: str | None = "b"\n')
    assert script_head() == "c"
