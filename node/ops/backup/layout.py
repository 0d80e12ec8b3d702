"""What a backup archive holds: the names the writer (``archive``) and the reader (``restore``)
must agree on.

The archive is a gzipped tar with these members:

- ``manifest.json``: format, when, which node (base URL), which database, schema revision;
- ``chapterhouse.toml``: the node's settings (written from the effective settings when the
  node had no file, e.g. when it is configured only by environment variables);
- ``admin-token``: when the data directory has one;
- ``chapterhouse.db``: a consistent SQLite snapshot taken with SQLite's online backup API,
  safe while the node is serving (WAL mode), or ``database.pgdump``: ``pg_dump --format=custom``
  of a PostgreSQL database.
"""

from __future__ import annotations

from node.runtime.config import CONFIG_FILE

ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 - a file name (as in node.interfaces.cli)
SQLITE_FILE = "chapterhouse.db"
PGDUMP_FILE = "database.pgdump"
MANIFEST_FILE = "manifest.json"
ARCHIVE_FORMAT = 1

#: Every member restore knows; anything else in an archive is skipped.
MEMBERS = (MANIFEST_FILE, CONFIG_FILE, ADMIN_TOKEN_FILE, SQLITE_FILE, PGDUMP_FILE)
#: The member that holds the database, by the manifest's ``database`` (SQLAlchemy's backend name).
DATABASE_MEMBERS = {"sqlite": SQLITE_FILE, "postgresql": PGDUMP_FILE}
