"""``chapter create|update``: the local groups that publish action calls, and their settings."""

from __future__ import annotations

import argparse

from node.features.actors.local import create_actor, update_chapter
from node.features.notifications.reminders import (
    chapter_offsets,
    parse_chapter_offsets,
    set_chapter_offsets,
)
from node.interfaces.cli.base import CommandError, err, out, with_services
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
