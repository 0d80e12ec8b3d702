"""The data directory and its secrets are the node's user's alone, whatever the umask.

The database holds every local actor's private key, ``admin-token`` the admin's bearer token and
``session.key`` the key that seals sign-in cookies: anyone else on the machine who can read one
of them can act as the node. The directory is therefore 0700 and every file the node writes into
it 0600. Modes are set explicitly (``os.open`` with 0600, then ``fchmod``) rather than by
changing the process umask, which would be process-wide state and easy to lose track of.

The SQLite file itself is created owner-only by ``storage.engine`` (storage cannot import this
module); SQLite gives the ``-wal``, ``-shm`` and ``-journal`` files it creates beside it the
database file's mode. ``tighten_data_dir`` repairs a data directory an older version left
readable by others.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from node.runtime.config import CONFIG_FILE, Settings
from storage.engine import SQLITE_SIDECARS, sqlite_file

log = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
#: What the node itself keeps in its data directory (beside the SQLite database, if any).
#: The names are the same as ``node.ops.backup.layout.ADMIN_TOKEN_FILE`` and
#: ``node.interfaces.web.session``'s key file (and ``unsubscribe.key``, the secret of the
#: e-mails' unsubscribe links, ``node.features.notifications.unsubscribe``); runtime may not
#: import those rooms.
NODE_FILES = (CONFIG_FILE, "admin-token", "session.key", "unsubscribe.key")


def _chmod(path: Path, mode: int) -> bool:
    """``chmod``, or a warning when the path belongs to another user (a volume mounted with
    someone else's ownership): the node still runs, and the operator is told why it is not
    private."""
    try:
        os.chmod(path, mode)
    except PermissionError as exc:
        log.warning(
            "data_dir.not_private: cannot restrict %s to the node's user (%s); make it mode %o "
            "and owned by the user the node runs as",
            path,
            exc.strerror,
            mode,
        )
        return False
    return True


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) and make it 0700; an existing directory is
    tightened too. ``mkdir``'s own mode passes through the umask, hence the ``chmod``."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    _chmod(path, PRIVATE_DIR_MODE)
    return path


def write_private(path: Path, data: bytes | str, *, exclusive: bool = False) -> Path:
    """Write ``data`` to ``path`` as a 0600 file (text as UTF-8), replacing its content.

    The mode is set on the open descriptor before anything is written, so the secret is never
    readable by others, not even for a moment, and an existing file with a wider mode is
    tightened. ``exclusive``: refuse (``FileExistsError``) a file that already exists.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    if exclusive:
        flags |= os.O_EXCL
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        if hasattr(os, "fchmod"):  # not on Windows before Python 3.13
            os.fchmod(handle.fileno(), PRIVATE_FILE_MODE)
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _tighten(path: Path, mode: int) -> bool:
    """Take group and other permissions off ``path``; whether anything changed."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return False
    if current & 0o077 == 0:
        return False
    return _chmod(path, mode)


def private_paths(settings: Settings) -> list[Path]:
    """The files that must be 0600: the node's own files and, on SQLite, the database with its
    write-ahead log, shared-memory index and rollback journal."""
    paths = [settings.data_dir / name for name in NODE_FILES]
    database = sqlite_file(settings.database_url)
    if database is not None:
        paths += [database, *(Path(f"{database}{suffix}") for suffix in SQLITE_SIDECARS)]
    return paths


def tighten_data_dir(settings: Settings) -> list[Path]:
    """Make the data directory 0700 and its secrets 0600 (``serve`` and ``worker`` call this
    before opening the database). A node set up by an older version had them readable by
    everyone: what was tightened is logged in one warning and returned."""
    data_dir = settings.data_dir
    if not data_dir.exists():  # a node configured by the environment alone, first start
        ensure_private_dir(data_dir)
    changed = [data_dir] if _tighten(data_dir, PRIVATE_DIR_MODE) else []
    changed += [p for p in private_paths(settings) if _tighten(p, PRIVATE_FILE_MODE)]
    if changed:
        log.warning(
            "data_dir.tightened: these were readable by other users of this machine and are "
            "now private to the node's user; if anyone else could log in here, consider "
            "rotating the node's keys and admin token",
            extra={"paths": [str(p) for p in changed]},
        )
    return changed
