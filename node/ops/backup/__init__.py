"""Encrypted backups of a node and their restore."""

from node.ops.backup.archive import BackupResult, create_backup
from node.ops.backup.container import read_passphrase
from node.ops.backup.errors import BackupError
from node.ops.backup.restore import RestoreResult, restore_backup

__all__ = [
    "BackupError",
    "BackupResult",
    "RestoreResult",
    "create_backup",
    "read_passphrase",
    "restore_backup",
]
