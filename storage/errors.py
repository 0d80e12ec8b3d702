"""Storage-level errors (sentinels callers can catch without knowing the database).

``storage`` imports nothing of ours, so these stand apart from ``ChapterhouseError``; the node
maps them where it meets them (the CLI's exit codes, the sign-up form)."""


class StorageError(Exception):
    """Root of storage errors."""


class AlreadyExists(StorageError):
    """A row with the same unique key already exists."""
