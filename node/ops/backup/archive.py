"""Encrypted backups of a node: ``chapterhouse backup`` (its reverse is ``restore``).

A backup holds everything needed to bring a node back under the same domain: the database
(where every actor's private keys live), ``chapterhouse.toml`` and the admin token. Because
it holds the keys it is always encrypted, under a passphrase: this module decides what goes
in (``layout`` names the members), ``snapshot`` copies the database and ``container`` seals
the stream. The file only appears under its name once it is complete and on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from node.ops.backup.container import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_KDF,
    EncryptingWriter,
    KdfParams,
)
from node.ops.backup.errors import BackupError
from node.ops.backup.layout import (
    ADMIN_TOKEN_FILE,
    ARCHIVE_FORMAT,
    MANIFEST_FILE,
    PGDUMP_FILE,
    SQLITE_FILE,
)
from node.ops.backup.snapshot import (
    backend_of,
    pg_dump,
    sqlite_path,
    sqlite_schema_revision,
    sqlite_snapshot,
)
from node.runtime.config import CONFIG_FILE, Settings
from node.runtime.progress import Progress, no_progress
from node.runtime.version import node_version
from protocol.errors import N_


@dataclass(frozen=True)
class BackupResult:
    """What was written, for the one line ``chapterhouse backup`` prints."""

    path: Path
    size: int
    base_url: str
    database: str

    def summary(self) -> str:
        return f"backed up {self.base_url} ({self.database}) to {self.path} ({self.size} bytes)"


def _config_bytes(settings: Settings) -> bytes:
    path = settings.data_dir / CONFIG_FILE
    if path.is_file():
        return path.read_bytes()
    # Configured by environment only: keep what identifies the node.
    lines = [
        "# Written by `chapterhouse backup` from the environment the node ran with.",
        'base_url = "{}"'.format(settings.base_url.replace("\\", "\\\\").replace('"', '\\"')),
    ]
    if settings.allow_private_network:
        lines.append("allow_private_network = true")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(mtime)
    tar.addfile(info, io.BytesIO(data))


def _add_file(tar: tarfile.TarFile, name: str, path: Path, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = path.stat().st_size, 0o600, int(mtime)
    with path.open("rb") as handle:
        tar.addfile(info, handle)


@contextlib.contextmanager
def _private_tempdir(preferred: Path) -> Iterator[Path]:
    """A 0700 scratch directory, in ``preferred`` (the data directory: the plaintext database
    lives there already) when writable, else the system's temporary directory."""
    try:
        scratch = tempfile.mkdtemp(prefix=".backup-", dir=preferred)
    except OSError:
        scratch = tempfile.mkdtemp(prefix="chapterhouse-backup-")
    try:
        yield Path(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _snapshot_database(
    settings: Settings, backend: str, scratch: Path, progress: Progress
) -> tuple[Path, str, str | None]:
    """Copy the database into ``scratch``: (the copy, its member name, its schema revision)."""
    if backend == "sqlite":
        source = sqlite_path(settings.database_url)
        progress(N_("snapshotting {path} (SQLite online backup)"), path=str(source))
        db_file = scratch / SQLITE_FILE
        sqlite_snapshot(source, db_file)
        return db_file, SQLITE_FILE, sqlite_schema_revision(db_file)
    if backend == "postgresql":
        progress(
            N_("dumping PostgreSQL database {name}"),
            name=str(make_url(settings.database_url).database),
        )
        db_file = scratch / PGDUMP_FILE
        pg_dump(settings.database_url, db_file)
        return db_file, PGDUMP_FILE, None
    raise BackupError(N_("cannot back up a {backend} database"), backend=backend)


def _write_backup(
    settings: Settings,
    out: Path,
    passphrase: bytes,
    progress: Progress,
    kdf: KdfParams,
    chunk_size: int,
) -> BackupResult:
    if out.is_dir():
        raise BackupError(N_("{path} is a directory; give the backup file's name"), path=str(out))
    if not out.parent.is_dir():
        raise BackupError(N_("the directory {path} does not exist"), path=str(out.parent))
    backend = backend_of(settings.database_url)
    now = time.time()
    with _private_tempdir(settings.data_dir) as scratch:
        db_file, db_name, revision = _snapshot_database(settings, backend, scratch, progress)
        files = [CONFIG_FILE, db_name]
        token = settings.data_dir / ADMIN_TOKEN_FILE
        if token.is_file():
            files.append(ADMIN_TOKEN_FILE)
        manifest = {
            "format": ARCHIVE_FORMAT,
            "created": datetime.fromtimestamp(now, UTC).isoformat(),
            "base_url": settings.base_url,
            "database": backend,
            "schema_revision": revision,
            "chapterhouse_version": node_version(),
            "files": files,
        }
        progress(N_("encrypting to {path}"), path=str(out))
        # Written beside the target and renamed: a crash never leaves a half backup under its name.
        partial = out.with_name(f".{out.name}.partial")
        partial.unlink(missing_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as sink:
                writer = EncryptingWriter(sink, passphrase, kdf=kdf, chunk_size=chunk_size)
                with tarfile.open(fileobj=writer, mode="w|gz") as tar:
                    _add_bytes(tar, MANIFEST_FILE, json.dumps(manifest, indent=1).encode(), now)
                    _add_bytes(tar, CONFIG_FILE, _config_bytes(settings), now)
                    if ADMIN_TOKEN_FILE in files:
                        _add_bytes(tar, ADMIN_TOKEN_FILE, token.read_bytes(), now)
                    _add_file(tar, db_name, db_file, now)
                writer.finish()
                sink.flush()
                os.fsync(sink.fileno())
                size = writer.bytes_written
            os.replace(partial, out)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return BackupResult(out, size, settings.base_url, backend)


async def create_backup(
    settings: Settings,
    out: Path,
    passphrase: bytes,
    *,
    progress: Progress = no_progress,
    kdf: KdfParams = DEFAULT_KDF,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> BackupResult:
    """Write an encrypted backup of the node configured by ``settings`` to ``out``."""
    return await asyncio.to_thread(
        _write_backup, settings, out, passphrase, progress, kdf, chunk_size
    )
