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
    Subparsers,
    data_arg,
    out,
    principal,
    with_services,
)
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
    out(f"imported {await import_mastodon_csv(services, text)} domain blocks")
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
        raise CommandError(f"{args.target} is not blocked")
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


def register(sub: Subparsers) -> None:
    block = sub.add_parser("block", help="block domains and actors (admins)").add_subparsers(
        dest="sub", required=True
    )
    p = block.add_parser(
        "domain", help="suspend (refuse everything) or silence (keep out of feeds) a domain"
    )
    p.add_argument("target", metavar="DOMAIN")
    data_arg(p)
    p.add_argument("--severity", default="suspend", choices=["suspend", "silence"])
    p.add_argument("--reason")
    p.set_defaults(func=cmd_block_domain)

    p = block.add_parser("actor", help="refuse everything from one actor")
    p.add_argument("target", metavar="ACTOR_URL")
    data_arg(p)
    p.add_argument("--reason")
    p.set_defaults(func=cmd_block_actor)

    p = block.add_parser(
        "import", help="import a Mastodon domain-block CSV (#domain,#severity,...)"
    )
    p.add_argument("file", metavar="FILE.csv")
    data_arg(p)
    p.set_defaults(func=cmd_block_import)

    p = block.add_parser("list", help="list blocks")
    data_arg(p)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=cmd_block_list)

    p = sub.add_parser("unblock", help="lift a domain or actor block")
    p.add_argument("target", metavar="DOMAIN_OR_ACTOR")
    data_arg(p)
    p.set_defaults(func=cmd_unblock)

    moderation = sub.add_parser(
        "moderation", help="abuse reports (flags): list and resolve them (admins)"
    ).add_subparsers(dest="sub", required=True)
    flags = moderation.add_parser("flags", help="abuse reports").add_subparsers(
        dest="flags_command", required=True
    )
    p = flags.add_parser("list", help="list open abuse reports, newest first")
    data_arg(p)
    p.add_argument("--all", action="store_true", help="resolved reports too")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=cmd_flags_list)

    p = flags.add_parser("resolve", help="close an open abuse report with a note")
    p.add_argument("id", metavar="ID", help="the report's id (see `moderation flags list`)")
    data_arg(p)
    p.add_argument("--note", required=True, help="what was done about the report")
    p.add_argument(
        "--as",
        dest="as_name",
        metavar="ADMIN",
        help="the admin resolving it (default: the node's operator, as the instance actor)",
    )
    p.add_argument("--json", action="store_true", help="the resolved flag as one JSON document")
    p.set_defaults(func=cmd_flags_resolve)
