"""The one error of backup and restore, in a module of its own so that every step (the file
format, the database snapshots, the archive, the restore) can raise it without importing another."""

from __future__ import annotations

from protocol.errors import ChapterhouseError


class BackupError(ChapterhouseError):
    """A backup or restore cannot be done; the message says why (the CLI exits 1)."""
