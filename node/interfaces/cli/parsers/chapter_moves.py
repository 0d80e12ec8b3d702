"""``chapter export|import|moved``: the arguments; the bodies are in
``node.interfaces.cli.chapter_moves``. Registered under ``chapter`` by ``parsers.chapters``."""

from __future__ import annotations

import argparse

from node.interfaces.cli.args import Subparsers, data_arg, lazy
from node.interfaces.cli.words import N_

command = lazy("chapter_moves")

PASSPHRASE_HELP = N_(
    "file whose first line is the passphrase (else CHAPTERHOUSE_EXPORT_PASSPHRASE)"
)


def _passphrase(p: argparse.ArgumentParser) -> None:
    p.add_argument("--passphrase-file", metavar="F", help=PASSPHRASE_HELP)


def register(chapter: Subparsers) -> None:
    p = chapter.add_parser(
        "export",
        help=N_("write a chapter (members, calls, reports, keys) to an encrypted file, to move it"),
    )
    p.add_argument("name")
    data_arg(p)
    p.add_argument("out", metavar="OUT", help=N_("the file to write"))
    _passphrase(p)
    p.set_defaults(func=command("cmd_chapter_export"))

    p = chapter.add_parser(
        "import", help=N_("create a chapter from an export (prints its new actor id)")
    )
    p.add_argument("file", metavar="FILE", help=N_("the file `chapter export` wrote"))
    data_arg(p)
    _passphrase(p)
    p.add_argument("--name", metavar="NEWNAME", help=N_("its name here (default: the old name)"))
    p.set_defaults(func=command("cmd_chapter_import"))

    p = chapter.add_parser(
        "moved",
        help=N_("announce that a chapter moved to an actor that names it in alsoKnownAs (Move)"),
    )
    p.add_argument("name")
    data_arg(p)
    p.add_argument("--to", required=True, metavar="NEW_ACTOR_URL", help=N_("the new actor's id"))
    p.set_defaults(func=command("cmd_chapter_moved"))
