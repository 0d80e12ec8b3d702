"""The encrypted container of a backup: a passphrase-sealed stream, knowing nothing of what is
inside (``archive`` writes a tar into it, ``restore`` reads one out).

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
"""

from __future__ import annotations

import io
import os
import secrets
import struct
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from node.ops.backup.errors import BackupError
from protocol.errors import N_

PASSPHRASE_ENV = "CHAPTERHOUSE_BACKUP_PASSPHRASE"  # noqa: S105 - a variable's name

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

#: How a wrong passphrase and a damaged file both read (the cipher cannot tell them apart);
#: the wordings that add why begin with it.
WRONG_PASSPHRASE = N_("wrong passphrase or corrupted backup")


@dataclass(frozen=True)
class KdfParams:
    """scrypt parameters; the default costs about 128 MiB and a quarter of a second."""

    log2_n: int = 17
    r: int = 8
    p: int = 1

    def check(self) -> None:
        # Bounds keep a crafted header from making us allocate gigabytes or spin for minutes.
        if not (10 <= self.log2_n <= 22 and 1 <= self.r <= 32 and 1 <= self.p <= 16):
            raise BackupError(
                N_("unsupported scrypt parameters in backup header: {kdf}"), kdf=str(self)
            )
        if 128 * self.r * (2**self.log2_n) > 1024**3:
            raise BackupError(
                N_("scrypt parameters in backup header need too much memory: {kdf}"),
                kdf=str(self),
            )


DEFAULT_KDF = KdfParams()

# -- passphrase --------------------------------------------------------------------------


def read_passphrase(
    path: str | None, env: Mapping[str, str] | None = None, *, env_name: str = PASSPHRASE_ENV
) -> bytes:
    """The passphrase: the first line of ``--passphrase-file``, else the environment variable
    ``env_name`` (chapter exports use their own, ``CHAPTERHOUSE_EXPORT_PASSPHRASE``)."""
    env = os.environ if env is None else env
    if path is not None:
        try:
            raw = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BackupError(
                N_("cannot read the passphrase file {path}: {reason}"), path=path, reason=str(exc)
            ) from exc
        lines = raw.splitlines()
        phrase = lines[0] if lines else ""
        if not phrase:
            raise BackupError(N_("the passphrase file {path} is empty"), path=path)
    else:
        phrase = env.get(env_name, "")
        if not phrase:
            raise BackupError(
                N_(
                    "a passphrase is required: give --passphrase-file FILE or set {variable}"
                    " (the file holds private keys)"
                ),
                variable=env_name,
            )
    # The same passphrase typed on another system must give the same key.
    return unicodedata.normalize("NFC", phrase).encode("utf-8")


# -- the stream --------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    """The file's first bytes: what it takes to derive the key and open the chunks. Packed, they
    are every chunk's associated data, so a changed header fails like a changed chunk."""

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
            raise BackupError(N_("not a Chapterhouse backup (unknown file header)"))
        if len(raw) < HEADER_LEN:
            raise BackupError(N_("wrong passphrase or corrupted backup (the file is truncated)"))
        _magic, version, kdf, log2_n, r, p, salt, cipher, prefix, chunk = _HEADER.unpack(raw)
        if version != FORMAT_VERSION:
            raise BackupError(
                N_(
                    "backup format version {version} is not supported"
                    " (this chapterhouse reads version {supported}; upgrade it)"
                ),
                version=version,
                supported=FORMAT_VERSION,
            )
        if kdf != KDF_SCRYPT or cipher != CIPHER_AES256GCM_STREAM:
            raise BackupError(
                N_("wrong passphrase or corrupted backup (unknown key derivation or cipher)")
            )
        if not MIN_CHUNK_SIZE <= chunk <= MAX_CHUNK_SIZE:
            raise BackupError(N_("wrong passphrase or corrupted backup (bad chunk size)"))
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
        raise BackupError(N_("backup too large for one file"))
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
            raise BackupError(N_("wrong passphrase or corrupted backup (the file is truncated)"))
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
