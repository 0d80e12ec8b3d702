"""Storage-level errors (sentinels callers can catch without knowing the database)."""


class StorageError(Exception):
    """Root of storage errors."""


class NotFound(StorageError):
    """The row asked for does not exist."""


class AlreadyExists(StorageError):
    """A row with the same unique key already exists."""
