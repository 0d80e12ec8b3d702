"""``chapterhouse restore``: a backup into a new data directory, all or nothing.

Restoring authenticates every chunk before its plaintext is used, unpacks into a private
staging directory next to the target and moves files into place only after the whole file
checked out; then it opens the node once (running migrations) to prove it works. Whatever
fails on the way, the target is left as it was found.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import stat
import tarfile
import tempfile
import tomllib
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from node.ops.backup.container import DecryptingReader
from node.ops.backup.errors import BackupError
from node.ops.backup.layout import (
    ADMIN_TOKEN_FILE,
    ARCHIVE_FORMAT,
    DATABASE_MEMBERS,
    MANIFEST_FILE,
    MEMBERS,
    PGDUMP_FILE,
    SQLITE_FILE,
)
from node.ops.backup.snapshot import backend_of, pg_restore, postgres_is_empty, sqlite_path
from node.runtime.config import CONFIG_FILE, ConfigError, Settings, load_settings
from node.runtime.private_files import PRIVATE_FILE_MODE, ensure_private_dir
from node.runtime.progress import Progress, no_progress
from node.runtime.wiring import close_services, open_services
from protocol.errors import N_
from storage.models import LocalActor

NODE_FILES = (CONFIG_FILE, SQLITE_FILE, f"{SQLITE_FILE}-wal", ADMIN_TOKEN_FILE)


@dataclass
class RestoreResult:
    """What was restored, for ``chapterhouse restore``'s summary and warnings."""

    data_dir: Path
    base_url: str
    database: str
    backed_up_at: str
    counts: dict[str, int] = field(default_factory=dict)
    #: What the admin should know, each an ``N_`` wording and its data (said by the CLI).
    warnings: list[tuple[str, dict[str, object]]] = field(default_factory=list)

    def summary(self) -> str:
        actors = ", ".join(
            f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in sorted(self.counts.items())
        )
        return (
            f"restored {self.base_url} into {self.data_dir} "
            f"(backup of {self.backed_up_at}; {actors or 'no local actors'})"
        )


def holds_node(data_dir: Path) -> str | None:
    """The file that shows ``data_dir`` already holds a node, if any."""
    for name in NODE_FILES:
        if (data_dir / name).exists():
            return name
    return None


def check_target(data_dir: Path) -> None:
    """Refuse a target that is a file or already a node: restore never overwrites."""
    if data_dir.exists() and not data_dir.is_dir():
        raise BackupError(N_("{path} exists and is not a directory"), path=str(data_dir))
    found = holds_node(data_dir) if data_dir.is_dir() else None
    if found is not None:
        raise BackupError(
            N_(
                "{path} already holds a Chapterhouse node ({found} exists);"
                " restore into a new, empty directory"
            ),
            path=str(data_dir),
            found=str(data_dir / found),
        )


@dataclass
class _Unpacked:
    staging: Path
    manifest: dict[str, Any]
    files: set[str]


def _staging_dir(data_dir: Path) -> Path:
    """A private (0700) directory for the unpacked files: beside ``data_dir`` so they can be
    moved into place, else inside it (a container's ``/data`` volume whose parent is ``/``),
    else in the system's temporary directory."""
    target = data_dir.absolute()
    prefix = f".{target.name}.restore-"
    with contextlib.suppress(OSError):
        target.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    if target.is_dir():
        with contextlib.suppress(OSError):
            return Path(tempfile.mkdtemp(prefix=".restore-", dir=target))
    return Path(tempfile.mkdtemp(prefix="chapterhouse-restore-"))


def _extract(reader: DecryptingReader, staging: Path, progress: Progress) -> set[str]:
    """Write the archive's known members into ``staging``; the names of those written."""
    files: set[str] = set()
    try:
        with tarfile.open(fileobj=reader, mode="r|gz") as tar:
            for member in tar:
                if member.name not in MEMBERS:
                    progress(N_("skipping unknown archive member {name!r}"), name=member.name)
                    continue
                if not member.isfile() or member.name in files:
                    raise BackupError(
                        N_("wrong passphrase or corrupted backup (bad member {name!r})"),
                        name=member.name,
                    )
                extracted = tar.extractfile(member)
                assert extracted is not None
                fd = os.open(staging / member.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(extracted, out)
                files.add(member.name)
    except (tarfile.TarError, zlib.error, EOFError, ValueError) as exc:
        raise BackupError(
            N_("wrong passphrase or corrupted backup (archive: {reason})"), reason=str(exc)
        ) from exc
    except OSError as exc:  # e.g. the disk is full
        raise BackupError(
            N_("cannot unpack the backup into {path}: {reason}"),
            path=str(staging),
            reason=str(exc),
        ) from exc
    return files


def _read_manifest(staging: Path, files: set[str]) -> dict[str, Any]:
    """The manifest, once it is known to describe a complete archive of a format we read."""
    try:
        manifest: dict[str, Any] = json.loads((staging / MANIFEST_FILE).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(
            N_("wrong passphrase or corrupted backup (no readable manifest)")
        ) from exc
    if manifest.get("format") != ARCHIVE_FORMAT:
        raise BackupError(
            N_("backup archive format {format!r} is not supported"), format=manifest.get("format")
        )
    db_name = DATABASE_MEMBERS.get(manifest.get("database", ""))
    if db_name is None or db_name not in files or CONFIG_FILE not in files:
        raise BackupError(N_("wrong passphrase or corrupted backup (the archive is incomplete)"))
    return manifest


def _unpack(source: Path, passphrase: bytes, data_dir: Path, progress: Progress) -> _Unpacked:
    """Decrypt and unpack into a staging directory beside ``data_dir``; nothing is left
    behind unless the whole file authenticated."""
    if not source.is_file():
        raise BackupError(N_("there is no backup file at {path}"), path=str(source))
    with source.open("rb") as handle:
        progress(N_("decrypting {path}"), path=str(source))
        reader = DecryptingReader(handle, passphrase)  # a wrong passphrase stops here
        staging = _staging_dir(data_dir)
        try:
            files = _extract(reader, staging, progress)
            reader.finish()
            return _Unpacked(staging, _read_manifest(staging, files), files)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


@dataclass
class _Placed:
    """What restore wrote, so that a failed restore can take it back."""

    created_dir: Path | None = None
    files: list[Path] = field(default_factory=list)
    dir_mode: tuple[Path, int] | None = None  # an existing directory's mode before 0700

    def undo(self) -> None:
        for path in reversed(self.files):
            path.unlink(missing_ok=True)
        if self.created_dir is not None:
            with contextlib.suppress(OSError):
                self.created_dir.rmdir()
        elif self.dir_mode is not None:
            with contextlib.suppress(OSError):
                os.chmod(*self.dir_mode)


def _place(unpacked: _Unpacked, data_dir: Path, placed: _Placed) -> Settings:
    """Move config and token into ``data_dir``; for SQLite also the database. Returns the
    restored node's settings (the backed-up file, overridden by this environment)."""
    check_target(data_dir)  # again: the directory may have changed while we decrypted
    if data_dir.exists():
        placed.dir_mode = (data_dir, stat.S_IMODE(data_dir.stat().st_mode))
    else:
        placed.created_dir = data_dir
    ensure_private_dir(data_dir)  # 0700, like `init`: the database holds private keys
    for name in (CONFIG_FILE, ADMIN_TOKEN_FILE):
        if name in unpacked.files:
            target = data_dir / name
            shutil.move(unpacked.staging / name, target)
            placed.files.append(target)
            os.chmod(target, PRIVATE_FILE_MODE)
    try:
        tomllib.loads((data_dir / CONFIG_FILE).read_text("utf-8"))
        settings = load_settings(data_dir)
    except (ConfigError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BackupError(
            N_("the restored configuration cannot be used: {reason}"), reason=str(exc)
        ) from exc
    kind = unpacked.manifest["database"]
    backend = backend_of(settings.database_url)
    if kind != backend:
        if kind == "sqlite":
            raise BackupError(
                N_(
                    "the backup holds a {kind} database but this node is configured for"
                    " {backend} (unset DATABASE_URL to restore it)"
                ),
                kind=kind,
                backend=backend,
            )
        raise BackupError(
            N_(
                "the backup holds a {kind} database but this node is configured for {backend}"
                " (set DATABASE_URL to the PostgreSQL database to restore it)"
            ),
            kind=kind,
            backend=backend,
        )
    if kind == "sqlite":
        target = sqlite_path(settings.database_url)
        for suffix in ("", "-wal", "-shm", "-journal"):
            if Path(f"{target}{suffix}").exists():
                raise BackupError(
                    N_("{path} already exists; restore will not overwrite it"),
                    path=f"{target}{suffix}",
                )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(unpacked.staging / SQLITE_FILE, target)
        placed.files.append(target)
        for suffix in ("-wal", "-shm"):  # written when the node opens it; ours to remove on undo
            placed.files.append(Path(f"{target}{suffix}"))
        os.chmod(target, PRIVATE_FILE_MODE)  # SQLite gives its -wal and -shm files this mode
    return settings


async def _open_once(settings: Settings) -> dict[str, int]:
    """Open the restored node as ``serve`` would (migrating it) and count its local actors."""
    services = await open_services(settings)
    try:
        async with services.db.read() as session:
            rows = await session.execute(
                select(LocalActor.kind, func.count()).group_by(LocalActor.kind)
            )
            return {str(kind): int(n) for kind, n in rows if kind != "instance"}
    finally:
        await close_services(services)


async def restore_backup(
    source: Path,
    data_dir: Path,
    passphrase: bytes,
    *,
    progress: Progress = no_progress,
) -> RestoreResult:
    """Restore ``source`` into the new data directory ``data_dir`` and prove the node opens."""
    check_target(data_dir)
    unpacked = await asyncio.to_thread(_unpack, source, passphrase, data_dir, progress)
    placed = _Placed()
    try:
        settings = await asyncio.to_thread(_place, unpacked, data_dir, placed)
        manifest = unpacked.manifest
        if manifest["database"] == "postgresql":
            if not await postgres_is_empty(settings.database_url):
                raise BackupError(
                    N_(
                        "the PostgreSQL database {name} is not empty;"
                        " restore needs a new, empty database"
                    ),
                    name=str(make_url(settings.database_url).database),
                )
            progress(N_("restoring the PostgreSQL database with pg_restore"))
            await asyncio.to_thread(
                pg_restore, settings.database_url, unpacked.staging / PGDUMP_FILE
            )
        progress(N_("opening the restored node (migrations)"))
        try:
            counts = await _open_once(settings)
        except Exception as exc:
            raise BackupError(
                N_("the restored node does not open: {reason}"), reason=str(exc)
            ) from exc
    except BaseException:
        placed.undo()
        raise
    finally:
        shutil.rmtree(unpacked.staging, ignore_errors=True)
    result = RestoreResult(
        data_dir, settings.base_url, manifest["database"], str(manifest.get("created")), counts
    )
    if settings.base_url != manifest.get("base_url"):
        result.warnings.append(
            (
                N_(
                    "this node's base URL is {url} but the backup is of {old}: followers know"
                    " the node by the old URL"
                ),
                {"url": settings.base_url, "old": str(manifest.get("base_url"))},
            )
        )
    return result
