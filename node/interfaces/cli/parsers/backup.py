"""``backup`` and ``restore``: the arguments; the bodies are in ``node.interfaces.cli.backup``."""

from __future__ import annotations

import argparse

from node.interfaces.cli.args import Subparsers, data_arg, lazy
from node.interfaces.cli.words import N_

command = lazy("backup")


def _passphrase_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--passphrase-file",
        metavar="F",
        help=N_("file whose first line is the passphrase (else CHAPTERHOUSE_BACKUP_PASSPHRASE)"),
    )


def register(sub: Subparsers) -> None:
    p = sub.add_parser("backup", help=N_("write an encrypted backup of the node (keys included)"))
    data_arg(p)
    p.add_argument("out", metavar="OUT", help=N_("the backup file to write"))
    _passphrase_option(p)
    p.set_defaults(func=command("cmd_backup"))

    p = sub.add_parser("restore", help=N_("restore a backup into a new data directory"))
    p.add_argument("backup", metavar="OUT", help=N_("the backup file to read"))
    data_arg(p)
    _passphrase_option(p)
    p.set_defaults(func=command("cmd_restore"))
