"""Database snapshots for a backup, and their restore: SQLite through its online backup API
(consistent while the node serves), PostgreSQL through ``pg_dump`` and ``pg_restore``."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from node.ops.backup.errors import BackupError
from protocol.errors import N_
from storage.engine import make_engine


def backend_of(url: str) -> str:
    """SQLAlchemy's name for the database ``url`` points at: ``sqlite`` or ``postgresql``."""
    return make_url(url).get_backend_name()


def sqlite_path(url: str) -> Path:
    """The file behind a SQLite URL (an in-memory or URI database has none to copy)."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(
            N_("cannot back up the SQLite database {url!r}: it is not a plain file"), url=url
        )
    return Path(database)


def sqlite_snapshot(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database with the online backup API.

    Copying all pages in one step holds one read transaction for the whole copy: in WAL
    mode the node keeps reading and writing meanwhile, and the copy is the database as of
    the moment that transaction began (never a mix of before and after a commit).
    """
    if not source.is_file():
        raise BackupError(N_("there is no database at {path}"), path=str(source))
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=-1)
            check = dst.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise BackupError(
                    N_("the database snapshot fails SQLite's quick_check: {check}"),
                    check=str(check),
                )
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(
            N_("cannot snapshot {path}: {reason}"), path=str(source), reason=str(exc)
        ) from exc
    finally:
        src.close()


def sqlite_schema_revision(path: Path) -> str | None:
    """The snapshot's Alembic revision, for the manifest (None when it has none)."""
    con = sqlite3.connect(path)
    try:
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(row[0]) if row else None
    except sqlite3.Error:
        return None
    finally:
        con.close()


def _libpq_env(url: URL) -> dict[str, str]:
    """libpq settings for pg_dump/pg_restore from a SQLAlchemy URL (the password stays off
    the command line, where ``ps`` would show it)."""
    env = dict(os.environ)
    for key, value in (
        ("PGHOST", url.host),
        ("PGPORT", str(url.port) if url.port else None),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value:
            env[key] = str(value)
    query = dict(url.query)
    sslmode = query.get("sslmode") or query.get("ssl")
    if isinstance(sslmode, str):
        env["PGSSLMODE"] = {"true": "require", "false": "disable"}.get(sslmode, sslmode)
    host = query.get("host")  # unix-socket form: postgresql+asyncpg:///db?host=/run/postgresql
    if isinstance(host, str):
        env["PGHOST"] = host
    return env


def _run_pg_tool(tool: str, args: list[str], url: str) -> None:
    binary = shutil.which(tool)
    if binary is None:
        raise BackupError(
            N_(
                "{tool} is not installed; it is needed to back up and restore PostgreSQL"
                " (install the postgresql-client package of the server's major version)"
            ),
            tool=tool,
        )
    parsed = make_url(url)
    try:
        result = subprocess.run(  # noqa: S603 - a fixed tool with our own arguments
            [binary, *args],
            env=_libpq_env(parsed),
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise BackupError(N_("cannot run {tool}: {reason}"), tool=tool, reason=str(exc)) from exc
    if result.returncode != 0:
        detail = result.stderr.strip() or result.stdout.strip()
        if not detail:
            raise BackupError(
                N_("{tool} failed: exit status {code}"), tool=tool, code=result.returncode
            )
        raise BackupError(N_("{tool} failed: {detail}"), tool=tool, detail=detail)


def pg_dump(url: str, target: Path) -> None:
    """Dump without owners or grants: the restoring server may have other roles."""
    _run_pg_tool(
        "pg_dump", ["--format=custom", "--no-owner", "--no-privileges", "--file", str(target)], url
    )


def pg_restore(url: str, dump: Path) -> None:
    """Restore in one transaction that stops at the first error: all of the dump or nothing."""
    _run_pg_tool(
        "pg_restore",
        [
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
            make_url(url).database or "",
            str(dump),
        ],
        url,
    )


async def postgres_is_empty(url: str) -> bool:
    """Whether the database holds no table: restore never merges into an existing node."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            count = await connection.scalar(
                text(
                    "SELECT count(*) FROM information_schema.tables "
                    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
                )
            )
        return not count
    except Exception as exc:  # driver errors differ; the message is what matters
        raise BackupError(
            N_("cannot reach the PostgreSQL database: {reason}"), reason=str(exc)
        ) from exc
    finally:
        await engine.dispose()
