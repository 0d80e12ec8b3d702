"""Encrypted backups of a node: ``chapterhouse backup`` and ``chapterhouse restore``.

A backup holds everything needed to bring a node back under the same domain: the database
(where every actor's private keys live), ``chapterhouse.toml`` and the admin token. Because
it holds the keys it is always encrypted, under a passphrase.

The archive is a gzipped tar with these members:

- ``manifest.json``: format, when, which node (base URL), which database, schema revision;
- ``chapterhouse.toml``: the node's settings (written from the effective settings when the
  node had no file, e.g. when it is configured only by environment variables);
- ``admin-token``: when the data directory has one;
- ``chapterhouse.db``: a consistent SQLite snapshot taken with SQLite's online backup API,
  safe while the node is serving (WAL mode), or ``database.pgdump``: ``pg_dump --format=custom``
  of a PostgreSQL database.

File format, version 1 (all integers big-endian)::

    header   magic "CHAPTERHOUSE-BACKUP\\n" | version u8 | kdf u8 (1 = scrypt)
             | log2(N) u8 | r u8 | p u8 | salt 16 bytes
             | cipher u8 (1 = AES-256-GCM) | nonce prefix 7 bytes | chunk size u32
    chunks   AES-256-GCM(key, nonce, chunk, associated data = header), each followed by its tag

The key is scrypt(passphrase, salt, N, r, p). The archive is encrypted in chunks (so a backup
never needs to fit in memory) with the STREAM construction (Hoang, Reyhanitabar, Rogaway and
Vizár, 2015; the one Tink's streaming AEAD and age use): chunk ``i`` is sealed with the nonce
``prefix || i (u32) || last (u8)``, so reordering, dropping, truncating or extending chunks is
detected like any flipped byte, and the header is authenticated with every chunk. All
primitives come from ``cryptography``.

Restoring authenticates every chunk before its plaintext is used, unpacks into a private
staging directory next to the target and moves files into place only after the whole file
checked out; then it opens the node once (running migrations) to prove it works.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import secrets
import shutil
import sqlite3
import struct
import subprocess
import tarfile
import tempfile
import time
import tomllib
import unicodedata
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from node.runtime.config import CONFIG_FILE, ConfigError, Settings, load_settings

PASSPHRASE_ENV = "CHAPTERHOUSE_BACKUP_PASSPHRASE"  # noqa: S105 - a variable's name
ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 - a file name (as in node.interfaces.cli.main)
SQLITE_FILE = "chapterhouse.db"
PGDUMP_FILE = "database.pgdump"
MANIFEST_FILE = "manifest.json"
ARCHIVE_FORMAT = 1

MAGIC = b"CHAPTERHOUSE-BACKUP\n"
FORMAT_VERSION = 1
KDF_SCRYPT = 1
CIPHER_AES256GCM_STREAM = 1
_HEADER = struct.Struct(">20sBBBBB16sB7sI")
HEADER_LEN = _HEADER.size
SALT_LEN = 16
NONCE_PREFIX_LEN = 7
TAG_LEN = 16
KEY_LEN = 32
DEFAULT_CHUNK_SIZE = 1024 * 1024
MIN_CHUNK_SIZE, MAX_CHUNK_SIZE = 1024, 16 * 1024 * 1024
MAX_CHUNKS = 2**32

WRONG_PASSPHRASE = "wrong passphrase or corrupted backup"  # noqa: S105 - a message

Progress = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore cannot be done; the message says why (the CLI exits 1)."""


@dataclass(frozen=True)
class KdfParams:
    """scrypt parameters; the default costs about 128 MiB and a quarter of a second."""

    log2_n: int = 17
    r: int = 8
    p: int = 1

    def check(self) -> None:
        # Bounds keep a crafted header from making us allocate gigabytes or spin for minutes.
        if not (10 <= self.log2_n <= 22 and 1 <= self.r <= 32 and 1 <= self.p <= 16):
            raise BackupError(f"unsupported scrypt parameters in backup header: {self}")
        if 128 * self.r * (2**self.log2_n) > 1024**3:
            raise BackupError(f"scrypt parameters in backup header need too much memory: {self}")


DEFAULT_KDF = KdfParams()

# -- passphrase --------------------------------------------------------------------------


def read_passphrase(path: str | None, env: Mapping[str, str] | None = None) -> bytes:
    """The passphrase: the first line of ``--passphrase-file``, else the environment."""
    env = os.environ if env is None else env
    if path is not None:
        try:
            raw = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BackupError(f"cannot read the passphrase file {path}: {exc}") from exc
        lines = raw.splitlines()
        phrase = lines[0] if lines else ""
        if not phrase:
            raise BackupError(f"the passphrase file {path} is empty")
    else:
        phrase = env.get(PASSPHRASE_ENV, "")
        if not phrase:
            raise BackupError(
                "a passphrase is required: give --passphrase-file FILE "
                f"or set {PASSPHRASE_ENV} (backups hold the node's private keys)"
            )
    # The same passphrase typed on another system must give the same key.
    return unicodedata.normalize("NFC", phrase).encode("utf-8")


# -- the encrypted container --------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    kdf: KdfParams
    salt: bytes
    nonce_prefix: bytes
    chunk_size: int

    def pack(self) -> bytes:
        return _HEADER.pack(
            MAGIC,
            FORMAT_VERSION,
            KDF_SCRYPT,
            self.kdf.log2_n,
            self.kdf.r,
            self.kdf.p,
            self.salt,
            CIPHER_AES256GCM_STREAM,
            self.nonce_prefix,
            self.chunk_size,
        )

    @classmethod
    def unpack(cls, raw: bytes) -> Header:
        if len(raw) < len(MAGIC) or raw[: len(MAGIC)] != MAGIC:
            raise BackupError("not a Chapterhouse backup (unknown file header)")
        if len(raw) < HEADER_LEN:
            raise BackupError(WRONG_PASSPHRASE + " (the file is truncated)")
        _magic, version, kdf, log2_n, r, p, salt, cipher, prefix, chunk = _HEADER.unpack(raw)
        if version != FORMAT_VERSION:
            raise BackupError(
                f"backup format version {version} is not supported "
                f"(this chapterhouse reads version {FORMAT_VERSION}; upgrade it)"
            )
        if kdf != KDF_SCRYPT or cipher != CIPHER_AES256GCM_STREAM:
            raise BackupError(WRONG_PASSPHRASE + " (unknown key derivation or cipher)")
        if not MIN_CHUNK_SIZE <= chunk <= MAX_CHUNK_SIZE:
            raise BackupError(WRONG_PASSPHRASE + " (bad chunk size)")
        params = KdfParams(log2_n, r, p)
        params.check()
        return cls(params, salt, prefix, chunk)

    def derive_key(self, passphrase: bytes) -> bytes:
        kdf = Scrypt(
            salt=self.salt, length=KEY_LEN, n=2**self.kdf.log2_n, r=self.kdf.r, p=self.kdf.p
        )
        return kdf.derive(passphrase)


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= MAX_CHUNKS:
        raise BackupError("backup too large for one file")
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class EncryptingWriter(io.RawIOBase):
    """A write-only file object that seals what it is given, chunk by chunk, into ``sink``."""

    def __init__(
        self,
        sink: IO[bytes],
        passphrase: bytes,
        *,
        kdf: KdfParams = DEFAULT_KDF,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        super().__init__()
        kdf.check()
        self._sink = sink
        self._header = Header(
            kdf, secrets.token_bytes(SALT_LEN), secrets.token_bytes(NONCE_PREFIX_LEN), chunk_size
        )
        self._aad = self._header.pack()
        self._aead = AESGCM(self._header.derive_key(passphrase))
        self._buffer = bytearray()
        self._counter = 0
        self._finished = False
        self.bytes_written = len(self._aad)
        sink.write(self._aad)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self._finished:
            raise ValueError("write to a finished backup")
        view = memoryview(data).cast("B")
        self._buffer += view
        size = self._header.chunk_size
        # Keep at least one byte back: only finish() knows which chunk is the last.
        while len(self._buffer) > size:
            self._seal(bytes(self._buffer[:size]), last=False)
            del self._buffer[:size]
        return len(view)

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        nonce = _nonce(self._header.nonce_prefix, self._counter, last)
        sealed = self._aead.encrypt(nonce, chunk, self._aad)
        self._sink.write(sealed)
        self.bytes_written += len(sealed)
        self._counter += 1

    def finish(self) -> None:
        """Seal the final chunk (possibly empty). Without it the backup does not verify."""
        if not self._finished:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._finished = True


def _read_exact(source: IO[bytes], size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size
    while remaining:
        part = source.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


class DecryptingReader(io.RawIOBase):
    """A read-only file object over a backup: yields plaintext only after its chunk verified.

    ``finish()`` must be called after the consumer is done: it verifies the rest of the file
    (through the chunk marked last, with nothing after it), so truncation is caught.
    """

    def __init__(self, source: IO[bytes], passphrase: bytes) -> None:
        super().__init__()
        self._source = source
        raw = _read_exact(source, HEADER_LEN)
        self._header = Header.unpack(raw)
        self._aad = raw
        self._aead = AESGCM(self._header.derive_key(passphrase))
        self._block = self._header.chunk_size + TAG_LEN
        self._counter = 0
        self._done = False
        self._plain = b""
        self._offset = 0
        self._pending = _read_exact(source, self._block)
        self._advance()  # the first chunk: a wrong passphrase fails here, before anything else

    def readable(self) -> bool:
        return True

    def _advance(self) -> None:
        current = self._pending
        if len(current) < TAG_LEN:
            raise BackupError(WRONG_PASSPHRASE + " (the file is truncated)")
        following = _read_exact(self._source, self._block) if len(current) == self._block else b""
        last = not following
        try:
            plain = self._aead.decrypt(
                _nonce(self._header.nonce_prefix, self._counter, last), current, self._aad
            )
        except InvalidTag:
            raise BackupError(WRONG_PASSPHRASE) from None
        self._counter += 1
        self._pending = following
        self._plain, self._offset = plain, 0
        self._done = last

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while self._offset >= len(self._plain):
            if self._done:
                return 0
            self._advance()
        count = min(len(view), len(self._plain) - self._offset)
        view[:count] = self._plain[self._offset : self._offset + count]
        self._offset += count
        return count

    def finish(self) -> None:
        """Verify every remaining chunk (their plaintext is not needed)."""
        while not self._done:
            self._advance()


# -- database snapshots -------------------------------------------------------------------


def _backend(url: str) -> str:
    return make_url(url).get_backend_name()


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"cannot back up the SQLite database {url!r}: it is not a plain file")
    return Path(database)


def sqlite_snapshot(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database with the online backup API.

    Copying all pages in one step holds one read transaction for the whole copy: in WAL
    mode the node keeps reading and writing meanwhile, and the copy is the database as of
    the moment that transaction began (never a mix of before and after a commit).
    """
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=-1)
            check = dst.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise BackupError(f"the database snapshot fails SQLite's quick_check: {check}")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot snapshot {source}: {exc}") from exc
    finally:
        src.close()


def _schema_revision_sqlite(path: Path) -> str | None:
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
            f"{tool} is not installed; it is needed to back up and restore PostgreSQL "
            "(install the postgresql-client package of the server's major version)"
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
        raise BackupError(f"cannot run {tool}: {exc}") from exc
    if result.returncode != 0:
        detail = (
            result.stderr.strip() or result.stdout.strip() or f"exit status {result.returncode}"
        )
        raise BackupError(f"{tool} failed: {detail}")


def pg_dump(url: str, target: Path) -> None:
    _run_pg_tool(
        "pg_dump", ["--format=custom", "--no-owner", "--no-privileges", "--file", str(target)], url
    )


def pg_restore(url: str, dump: Path) -> None:
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


# -- backup -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupResult:
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


def _write_backup(
    settings: Settings,
    out: Path,
    passphrase: bytes,
    progress: Progress,
    kdf: KdfParams,
    chunk_size: int,
) -> BackupResult:
    if out.is_dir():
        raise BackupError(f"{out} is a directory; give the backup file's name")
    if not out.parent.is_dir():
        raise BackupError(f"the directory {out.parent} does not exist")
    backend = _backend(settings.database_url)
    now = time.time()
    with _private_tempdir(settings.data_dir) as scratch:
        if backend == "sqlite":
            source = _sqlite_path(settings.database_url)
            progress(f"snapshotting {source} (SQLite online backup)")
            db_file, db_name = scratch / SQLITE_FILE, SQLITE_FILE
            sqlite_snapshot(source, db_file)
            revision = _schema_revision_sqlite(db_file)
        elif backend == "postgresql":
            progress(f"dumping PostgreSQL database {make_url(settings.database_url).database}")
            db_file, db_name = scratch / PGDUMP_FILE, PGDUMP_FILE
            pg_dump(settings.database_url, db_file)
            revision = None
        else:
            raise BackupError(f"cannot back up a {backend} database")
        from node.runtime.version import node_version

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
        progress(f"encrypting to {out}")
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
    progress: Progress = lambda _line: None,
    kdf: KdfParams = DEFAULT_KDF,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> BackupResult:
    """Write an encrypted backup of the node configured by ``settings`` to ``out``."""
    return await asyncio.to_thread(
        _write_backup, settings, out, passphrase, progress, kdf, chunk_size
    )


# -- restore ------------------------------------------------------------------------------

NODE_FILES = (CONFIG_FILE, SQLITE_FILE, f"{SQLITE_FILE}-wal", ADMIN_TOKEN_FILE)


@dataclass
class RestoreResult:
    data_dir: Path
    base_url: str
    database: str
    backed_up_at: str
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

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
    if data_dir.exists() and not data_dir.is_dir():
        raise BackupError(f"{data_dir} exists and is not a directory")
    found = holds_node(data_dir) if data_dir.is_dir() else None
    if found is not None:
        raise BackupError(
            f"{data_dir} already holds a Chapterhouse node ({data_dir / found} exists); "
            "restore into a new, empty directory"
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


def _unpack(source: Path, passphrase: bytes, data_dir: Path, progress: Progress) -> _Unpacked:
    """Decrypt and unpack into a staging directory beside ``data_dir``; nothing is left
    behind unless the whole file authenticated."""
    if not source.is_file():
        raise BackupError(f"there is no backup file at {source}")
    with source.open("rb") as handle:
        progress(f"decrypting {source}")
        reader = DecryptingReader(handle, passphrase)  # a wrong passphrase stops here
        staging = _staging_dir(data_dir)
        try:
            files: set[str] = set()
            try:
                with tarfile.open(fileobj=reader, mode="r|gz") as tar:
                    for member in tar:
                        if member.name not in (
                            MANIFEST_FILE,
                            CONFIG_FILE,
                            ADMIN_TOKEN_FILE,
                            SQLITE_FILE,
                            PGDUMP_FILE,
                        ):
                            progress(f"skipping unknown archive member {member.name!r}")
                            continue
                        if not member.isfile() or member.name in files:
                            raise BackupError(WRONG_PASSPHRASE + f" (bad member {member.name!r})")
                        extracted = tar.extractfile(member)
                        assert extracted is not None
                        fd = os.open(
                            staging / member.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600
                        )
                        with os.fdopen(fd, "wb") as out:
                            shutil.copyfileobj(extracted, out)
                        files.add(member.name)
            except (tarfile.TarError, zlib.error, EOFError, ValueError) as exc:
                raise BackupError(f"{WRONG_PASSPHRASE} (archive: {exc})") from exc
            except OSError as exc:  # e.g. the disk is full
                raise BackupError(f"cannot unpack the backup into {staging}: {exc}") from exc
            reader.finish()
            try:
                manifest = json.loads((staging / MANIFEST_FILE).read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise BackupError(f"{WRONG_PASSPHRASE} (no readable manifest)") from exc
            if manifest.get("format") != ARCHIVE_FORMAT:
                raise BackupError(
                    f"backup archive format {manifest.get('format')!r} is not supported"
                )
            db_name = {"sqlite": SQLITE_FILE, "postgresql": PGDUMP_FILE}.get(
                manifest.get("database", "")
            )
            if db_name is None or db_name not in files or CONFIG_FILE not in files:
                raise BackupError(f"{WRONG_PASSPHRASE} (the archive is incomplete)")
            return _Unpacked(staging, manifest, files)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


@dataclass
class _Placed:
    """What restore wrote, so that a failed restore can take it back."""

    created_dir: Path | None = None
    files: list[Path] = field(default_factory=list)

    def undo(self) -> None:
        for path in reversed(self.files):
            path.unlink(missing_ok=True)
        if self.created_dir is not None:
            with contextlib.suppress(OSError):
                self.created_dir.rmdir()


def _place(unpacked: _Unpacked, data_dir: Path, placed: _Placed) -> Settings:
    """Move config and token into ``data_dir``; for SQLite also the database. Returns the
    restored node's settings (the backed-up file, overridden by this environment)."""
    check_target(data_dir)  # again: the directory may have changed while we decrypted
    if not data_dir.exists():
        data_dir.mkdir(parents=True, mode=0o750)
        placed.created_dir = data_dir
    for name in (CONFIG_FILE, ADMIN_TOKEN_FILE):
        if name in unpacked.files:
            target = data_dir / name
            shutil.move(unpacked.staging / name, target)
            placed.files.append(target)
    try:
        tomllib.loads((data_dir / CONFIG_FILE).read_text("utf-8"))
        settings = load_settings(data_dir)
    except (ConfigError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BackupError(f"the restored configuration cannot be used: {exc}") from exc
    kind = unpacked.manifest["database"]
    backend = _backend(settings.database_url)
    if kind != backend:
        raise BackupError(
            f"the backup holds a {kind} database but this node is configured for {backend} "
            + (
                "(unset DATABASE_URL to restore it)"
                if kind == "sqlite"
                else "(set DATABASE_URL to the PostgreSQL database to restore it)"
            )
        )
    if kind == "sqlite":
        target = _sqlite_path(settings.database_url)
        for suffix in ("", "-wal", "-shm", "-journal"):
            if Path(f"{target}{suffix}").exists():
                raise BackupError(f"{target}{suffix} already exists; restore will not overwrite it")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(unpacked.staging / SQLITE_FILE, target)
        placed.files.append(target)
        for suffix in ("-wal", "-shm"):  # written when the node opens it; ours to remove on undo
            placed.files.append(Path(f"{target}{suffix}"))
        os.chmod(target, 0o600)
    return settings


async def _postgres_is_empty(url: str) -> bool:
    from storage.engine import make_engine

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
        raise BackupError(f"cannot reach the PostgreSQL database: {exc}") from exc
    finally:
        await engine.dispose()


async def _open_once(settings: Settings) -> dict[str, int]:
    """Open the restored node as ``serve`` would (migrating it) and count its local actors."""
    from sqlalchemy import func, select

    from node.runtime.app import close_services, open_services
    from storage.models import LocalActor

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
    progress: Progress = lambda _line: None,
) -> RestoreResult:
    """Restore ``source`` into the new data directory ``data_dir`` and prove the node opens."""
    check_target(data_dir)
    unpacked = await asyncio.to_thread(_unpack, source, passphrase, data_dir, progress)
    placed = _Placed()
    try:
        settings = await asyncio.to_thread(_place, unpacked, data_dir, placed)
        manifest = unpacked.manifest
        if manifest["database"] == "postgresql":
            if not await _postgres_is_empty(settings.database_url):
                raise BackupError(
                    f"the PostgreSQL database {make_url(settings.database_url).database} is not "
                    "empty; restore needs a new, empty database"
                )
            progress("restoring the PostgreSQL database with pg_restore")
            await asyncio.to_thread(
                pg_restore, settings.database_url, unpacked.staging / PGDUMP_FILE
            )
        progress("opening the restored node (migrations)")
        try:
            counts = await _open_once(settings)
        except Exception as exc:
            raise BackupError(f"the restored node does not open: {exc}") from exc
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
            f"this node's base URL is {settings.base_url} but the backup is of "
            f"{manifest.get('base_url')}: followers know the node by the old URL"
        )
    return result
