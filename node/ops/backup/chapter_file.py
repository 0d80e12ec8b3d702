"""The file a chapter export lives in: its JSON document (``node/features/actors/transfer.py``),
gzipped and sealed in the backup container (``container``: scrypt, then AES-256-GCM in
authenticated chunks), so a wrong passphrase, a flipped byte or a truncated file is refused
before anything is read out of it. It holds private keys and password hashes: it is never
written in the clear, and it appears under its name only once complete.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
import zlib
from pathlib import Path
from typing import Any, Final

from node.ops.backup.container import DecryptingReader, EncryptingWriter
from node.ops.backup.errors import BackupError
from protocol.errors import N_

EXPORT_PASSPHRASE_ENV: Final = "CHAPTERHOUSE_EXPORT_PASSPHRASE"  # noqa: S105 - a variable's name
#: A chapter export is one document read into memory: refuse anything larger when opened.
MAX_PLAINTEXT: Final = 512 * 1024 * 1024


def write_chapter_file(path: Path, document: Any, passphrase: bytes) -> int:
    """Seal ``document`` into ``path`` (replaced only once the new file is complete); returns
    the file's size."""
    body = gzip.compress(json.dumps(document, ensure_ascii=False).encode("utf-8"))
    directory = path.parent if str(path.parent) else Path(".")
    fd, temp = tempfile.mkstemp(prefix=".chapter-export-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as sink:
            writer = EncryptingWriter(sink, passphrase)
            writer.write(body)
            writer.finish()
            sink.flush()
            os.fsync(sink.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path.stat().st_size


def read_chapter_file(path: Path, passphrase: bytes) -> Any:
    """The document sealed in ``path``; ``BackupError`` for a wrong passphrase or a damaged file."""
    try:
        with path.open("rb") as source:
            reader = DecryptingReader(source, passphrase)
            parts: list[bytes] = []
            size = 0
            while part := reader.read(1024 * 1024):
                size += len(part)
                if size > MAX_PLAINTEXT:
                    raise BackupError(
                        N_("{path} is larger than a chapter export may be"), path=str(path)
                    )
                parts.append(part)
            reader.finish()
            sealed = b"".join(parts)
    except OSError as exc:
        raise BackupError(
            N_("cannot read {path}: {reason}"), path=str(path), reason=str(exc)
        ) from exc
    try:
        return json.loads(gzip.decompress(sealed))
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise BackupError(
            N_("wrong passphrase or corrupted backup (not a chapter export: {reason})"),
            reason=str(exc),
        ) from exc
