"""``backup`` and ``restore``: the node's whole state (keys included) in one encrypted file, so
a node can move or recover without losing its identity. The work is in ``node.ops.backup``."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.interfaces.cli.base import err, out, settings_for, told
from node.interfaces.cli.words import _, written
from node.ops.backup import create_backup, read_passphrase, restore_backup
from protocol.errors import said


async def cmd_backup(args: argparse.Namespace) -> int:
    """Progress on stderr; the one-line summary on stdout. A ``BackupError`` is a
    ``ChapterhouseError``: ``main`` reports it and exits 1."""
    passphrase = read_passphrase(args.passphrase_file)
    result = await create_backup(settings_for(args), Path(args.out), passphrase, progress=told)
    out(result.summary())
    return 0


async def cmd_restore(args: argparse.Namespace) -> int:
    """Into a new data directory only (never over a node); warnings go to stderr."""
    passphrase = read_passphrase(args.passphrase_file)
    result = await restore_backup(Path(args.backup), Path(args.data), passphrase, progress=told)
    for wording, params in result.warnings:
        err(_("warning: {warning}").format(warning=said(wording, params, _, written)))
    out(result.summary())
    return 0
