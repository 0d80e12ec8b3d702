"""The one error of backup and restore, in a module of its own so that every step (the file
format, the database snapshots, the archive, the restore) can raise it without importing another."""

from __future__ import annotations

from protocol.errors import WordedError


class BackupError(WordedError):
    """A backup or restore cannot be done; the message says why (the CLI exits 1). Raised as
    ``BackupError(N_("there is no backup file at {path}"), path=str(source))``, so the CLI says
    it in its reader's language (``ChapterhouseError.spoken``)."""
