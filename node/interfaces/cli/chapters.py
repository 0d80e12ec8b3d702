"""``chapter create|update``: the local groups that publish action calls, and their settings."""

from __future__ import annotations

import argparse

from node.features.actors.local import create_actor, update_chapter
from node.features.notifications.reminders import (
    chapter_offsets,
    parse_chapter_offsets,
    set_chapter_offsets,
)
from node.interfaces.cli.base import CommandError, Subparsers, data_arg, err, out, with_services
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
        timezone=args.timezone,
    )
    out(created.actor.ap_id)
    err(f"handle: acct:{created.actor.name}@{services.ids.authority}")
    if created.actor.timezone:
        err(f"time zone: {created.actor.timezone}")
    return 0


@with_services
async def cmd_chapter_update(args: argparse.Namespace, services: Services) -> int:
    """Prints the actor id; only the settings given change (none given is an error)."""
    settings = (args.timezone, args.title, args.summary)
    if args.reminder_offsets is None and all(v is None for v in settings):
        raise CommandError(
            "nothing to change: give --timezone, --title, --summary or --reminder-offsets"
        )
    # Read before anything is stored: a bad list changes nothing.
    offsets = (
        None if args.reminder_offsets is None else parse_chapter_offsets(args.reminder_offsets)
    )
    actor = None
    if any(v is not None for v in settings):
        actor = await update_chapter(
            services, args.name, timezone=args.timezone, title=args.title, summary=args.summary
        )
    if args.reminder_offsets is not None:
        actor = await set_chapter_offsets(services, args.name, offsets)
    assert actor is not None
    out(actor.ap_id)
    err(f"time zone: {actor.timezone or 'none (calls must give theirs)'}")
    err(f"reminders: {reminders_text(services, actor.reminder_offsets)}")
    return 0


def reminders_text(services: Services, stored: object) -> str:
    """The chapter's reminders in words: ``1440, 120 minutes before a call (the node's)``."""
    minutes = chapter_offsets(services, stored)
    whose = "the node's" if stored is None else "the chapter's own"
    if not minutes:
        return f"none ({whose})"
    return f"{', '.join(str(m) for m in minutes)} minutes before a call ({whose})"


TIMEZONE_HELP = (
    "IANA time zone, e.g. Europe/London: call times given without an offset are read in it, "
    "and the web form starts with it"
)


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
    p.add_argument("--timezone", metavar="ZONE", help=TIMEZONE_HELP)
    p.set_defaults(func=cmd_chapter_create)

    p = chapter.add_parser(
        "update", help="change a chapter's settings (prints its actor id); only those given change"
    )
    p.add_argument("name")
    data_arg(p)
    p.add_argument("--timezone", metavar="ZONE", help=TIMEZONE_HELP)
    p.add_argument("--title", help="the name people see (followers get an Update)")
    p.add_argument("--summary", help="one paragraph about the chapter (followers get an Update)")
    p.add_argument(
        "--reminder-offsets",
        metavar="MINUTES",
        help="reminders before each call, in minutes before its start, e.g. 1440,120; "
        "'none' for no reminders, 'default' for the node's (reminder_offsets_minutes)",
    )
    p.set_defaults(func=cmd_chapter_update)
