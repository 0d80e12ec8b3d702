"""``block domain|actor|import|list`` and ``unblock``: the admin's answer to abusive servers and
accounts (refused at the inbox, kept out of feeds)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from node.features.moderation.blocks import block_actor, block_domain, import_mastodon_csv, unblock
from node.interfaces.cli.base import CommandError, Subparsers, data_arg, out, with_services
from node.runtime.services import Services
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
