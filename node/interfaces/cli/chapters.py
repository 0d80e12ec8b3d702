"""``chapter create``: the local groups that publish action calls."""

from __future__ import annotations

import argparse

from node.features.actors.local import create_actor
from node.interfaces.cli.base import Subparsers, data_arg, err, out, with_services
from node.runtime.services import Services
from storage.models.states import ActorKind


@with_services
async def cmd_chapter_create(args: argparse.Namespace, services: Services) -> int:
    """Prints the actor id (the result) and the handle people follow (a note)."""
    created = await create_actor(
        services,
        args.name,
        ActorKind.CAMPAIGN if args.campaign else ActorKind.CHAPTER,
        title=args.title,
        summary=args.summary,
        approve_followers=args.approve_followers,
    )
    out(created.actor.ap_id)
    err(f"handle: acct:{created.actor.name}@{services.ids.authority}")
    return 0


def register(sub: Subparsers) -> None:
    chapter = sub.add_parser("chapter", help="manage chapters").add_subparsers(
        dest="sub", required=True
    )
    p = chapter.add_parser("create", help="create a chapter (prints its actor id)")
    p.add_argument("name")
    data_arg(p)
    p.add_argument("--title")
    p.add_argument("--summary")
    p.add_argument("--approve-followers", action="store_true", help="approve followers by hand")
    p.add_argument("--campaign", action="store_true", help="create a campaign instead of a chapter")
    p.set_defaults(func=cmd_chapter_create)
