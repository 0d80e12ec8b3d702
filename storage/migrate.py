"""Bring a database to the newest schema; the node calls this on every start.

Alembic (with Mako and Pygments behind it) costs a running node about 10 MB of resident
memory, so it is imported only when there is something to do: a database already at the
single head revision named by the version scripts is left alone without loading it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

_REVISION = re.compile(r"""^revision(?:\s*:[^=\n]*)?\s*=\s*["']([^"'\n]+)["']\s*$""", re.M)
_DOWN_REVISION = re.compile(
    r"""^down_revision(?:\s*:[^=\n]*)?\s*=\s*(?:["']([^"'\n]+)["']|None)\s*$""", re.M
)


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def script_head() -> str | None:
    """The one head revision of the version scripts, read from their text without Alembic.

    ``None`` whenever the scripts are not a plain chain this reading understands (a merge, a
    branch, an unusual declaration): the caller then asks Alembic itself.
    """
    parents: dict[str, str | None] = {}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        source = path.read_text("utf-8")
        revision = _REVISION.findall(source)
        down = _DOWN_REVISION.findall(source)
        if len(revision) != 1 or len(down) != 1 or revision[0] in parents:
            return None
        parents[revision[0]] = down[0] or None
    heads = set(parents) - set(parents.values())
    roots = [r for r, parent in parents.items() if parent is None]
    if len(heads) != 1 or len(roots) != 1:
        return None
    return heads.pop()


async def current_revisions(engine: AsyncEngine) -> list[str] | None:
    """The revisions recorded in ``alembic_version`` (``None`` if the table does not exist)."""
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return [str(r) for r in rows.scalars()]
    except DBAPIError:
        return None


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade in one transaction (DDL is transactional on both SQLite and PostgreSQL)."""
    if revision == "head":
        head = script_head()
        if head is not None and await current_revisions(engine) == [head]:
            return
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)
