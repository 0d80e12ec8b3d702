"""``block domain|actor|import|list`` and ``unblock``: the admin's answer to abusive servers and
accounts (refused at the inbox, kept out of feeds); ``moderation flags list|resolve``: the abuse
reports members and other servers sent, and closing them with a note on what was done."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from node.features.moderation.blocks import block_actor, block_domain, import_mastodon_csv, unblock
from node.features.moderation.flags import flag_id_from, resolve_flag
from node.interfaces.cli.base import (
    CommandError,
    out,
    principal,
    with_services,
)
from node.interfaces.cli.words import _, ngettext
from node.runtime.services import Services
from storage.models.states import FlagState
from storage.repositories import moderation as moderation_repo


@with_services
async def cmd_block_domain(args: argparse.Namespace, services: Services) -> int:
    domain = await block_domain(services, args.target, args.severity, args.reason)
    out(f"{domain} {args.severity}")
    return 0


@with_services
async def cmd_block_actor(args: argparse.Namespace, services: Services) -> int:
    out(f"{await block_actor(services, args.target, args.reason)} blocked")
    return 0


@with_services
async def cmd_block_import(args: argparse.Namespace, services: Services) -> int:
    """Mastodon's export format, so an admin can start from a list other servers keep."""
    text = Path(args.file).read_text("utf-8")  # noqa: ASYNC240 - a one-shot CLI read
    count = await import_mastodon_csv(services, text)
    out(
        ngettext("imported {count} domain block", "imported {count} domain blocks", count).format(
            count=count
        )
    )
    return 0


@with_services
async def cmd_block_list(args: argparse.Namespace, services: Services) -> int:
    """Domains, then actors, one tab-separated line each (or one JSON document)."""
    async with services.db.read() as session:
        domains = await moderation_repo.domain_blocks(session)
        actors = await moderation_repo.actor_blocks(session)
    if args.json:
        out(
            json.dumps(
                {
                    "domains": [
                        {"domain": d.host, "severity": d.severity, "reason": d.reason}
                        for d in domains
                    ],
                    "actors": [{"actor": a.actor, "reason": a.reason} for a in actors],
                }
            )
        )
    else:
        for d in domains:
            out(f"{d.host}\t{d.severity}\t{d.reason or ''}")
        for a in actors:
            out(f"{a.actor}\tactor\t{a.reason or ''}")
    return 0


@with_services
async def cmd_unblock(args: argparse.Namespace, services: Services) -> int:
    if not await unblock(services, args.target):
        raise CommandError(_("{target} is not blocked").format(target=args.target))
    out(f"{args.target} unblocked")
    return 0


def _one_line(text: str | None) -> str:
    """A free-text field on a tab-separated line: no tabs or line breaks to split it."""
    return " ".join((text or "").split())


@with_services
async def cmd_flags_list(args: argparse.Namespace, services: Services) -> int:
    """Open flags (``--all``: resolved ones too), newest first: one tab-separated line each
    (id, state, reporter, targets, comment, then for resolved ones who, when and the note), or
    one JSON document."""
    async with services.db.read() as session:
        rows = await moderation_repo.flags(session, None if args.all else FlagState.OPEN)
    if args.json:
        out(json.dumps({"items": [moderation_repo.flag_json(r) for r in rows]}))
        return 0
    for r in rows:
        targets = " ".join(str(t) for t in r.targets or [])
        fields = [str(r.id), r.state, r.reporter, targets, _one_line(r.comment)]
        if r.state == FlagState.RESOLVED:
            when = r.resolved_at.isoformat() if r.resolved_at else ""
            fields += [r.resolved_by or "", when, _one_line(r.resolution)]
        out("\t".join(fields))
    return 0


@with_services
async def cmd_flags_resolve(args: argparse.Namespace, services: Services) -> int:
    """Close an open flag with a note. ``--as`` names the admin recorded as resolving it;
    without it, the node's operator (who holds the data directory) resolves it as the
    instance actor. An unknown id or a flag resolved before fails (exit 1) and changes
    nothing."""
    by = await principal(services, args.as_name) if args.as_name else None
    row = await resolve_flag(services, by, flag_id_from(args.id), args.note)
    if args.json:
        out(json.dumps(moderation_repo.flag_json(row)))
    else:
        out(f"flag {row.id} resolved by {row.resolved_by}")
    return 0
