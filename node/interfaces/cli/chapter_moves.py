"""``chapter export|import|moved``: taking a chapter to another node. The chapter's document is
made and read by ``node.features.actors.transfer``, sealed by ``node.ops.backup.chapter_file``,
and the move announced by ``node.features.actors.move``."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.features.actors.move import announce_move
from node.features.actors.transfer import export_chapter, import_chapter
from node.interfaces.cli.base import err, out, told, with_services
from node.interfaces.cli.words import _, ngettext
from node.ops.backup.chapter_file import (
    EXPORT_PASSPHRASE_ENV,
    read_chapter_file,
    write_chapter_file,
)
from node.ops.backup.container import read_passphrase
from node.runtime.services import Services


@with_services
async def cmd_chapter_export(args: argparse.Namespace, services: Services) -> int:
    """Progress on stderr; on stdout the file written."""
    passphrase = read_passphrase(args.passphrase_file, env_name=EXPORT_PASSPHRASE_ENV)
    document = await export_chapter(services, args.name, told)
    err(_("encrypting"))
    size = write_chapter_file(Path(args.out), document, passphrase)
    out(
        _("exported {id} to {file} ({size} bytes)").format(
            id=document["chapter"]["ap_id"], file=args.out, size=size
        )
    )
    return 0


@with_services
async def cmd_chapter_import(args: argparse.Namespace, services: Services) -> int:
    """Prints the new actor id; the old id, and members skipped, go to stderr."""
    passphrase = read_passphrase(args.passphrase_file, env_name=EXPORT_PASSPHRASE_ENV)
    err(_("decrypting"))
    document = read_chapter_file(Path(args.file), passphrase)
    result = await import_chapter(services, document, told, name=args.name)
    for name in result.skipped:
        err(
            _("warning: member {name} not imported: the name is taken on this node").format(
                name=name
            )
        )
    wording, params = result.summary()
    told(wording, **params)
    err(
        _("next, on the old node: chapterhouse chapter moved NAME --to {id} --data DIR").format(
            id=result.ap_id
        )
    )
    out(result.ap_id)
    return 0


@with_services
async def cmd_chapter_moved(args: argparse.Namespace, services: Services) -> int:
    """Prints the Move's id; how many inboxes it goes to on stderr."""
    announced = await announce_move(services, args.name, args.to)
    err(
        ngettext(
            "{old} moved to {new}: Move sent to {count} inbox",
            "{old} moved to {new}: Move sent to {count} inboxes",
            announced.inboxes,
        ).format(old=announced.old, new=announced.new, count=announced.inboxes)
    )
    out(announced.move_id)
    return 0
