"""``chapter create|update``: the local groups that publish action calls, and their settings."""

from __future__ import annotations

import argparse

from node.features.actors.chapter_profile import stored_profile
from node.features.actors.local import create_actor, update_chapter
from node.features.notifications.reminders import (
    chapter_offsets,
    parse_chapter_offsets,
    set_chapter_offsets,
)
from node.interfaces.cli.base import CommandError, err, out, with_services
from node.interfaces.cli.parsers.chapters import CLEAR
from node.interfaces.cli.words import _, ngettext
from node.runtime.services import Services
from storage.models import LocalActor
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
        profile=profile_changes(args),
    )
    out(created.actor.ap_id)
    err(_("handle: {handle}").format(handle=f"acct:{created.actor.name}@{services.ids.authority}"))
    if created.actor.timezone:
        err(_("time zone: {zone}").format(zone=created.actor.timezone))
    return 0


@with_services
async def cmd_chapter_update(args: argparse.Namespace, services: Services) -> int:
    """Prints the actor id; only the settings given change (none given is an error)."""
    settings = (args.timezone, args.title, args.summary)
    profile = profile_changes(args)
    if args.reminder_offsets is None and all(v is None for v in settings) and not profile:
        raise CommandError(
            _(
                "nothing to change: give --timezone, --title, --summary, --reminder-offsets, "
                "--coordinates, --place-name, --address, --radius-km, --region, --language or "
                "--topic"
            )
        )
    # Read before anything is stored: a bad list changes nothing.
    offsets = (
        None if args.reminder_offsets is None else parse_chapter_offsets(args.reminder_offsets)
    )
    actor = None
    if any(v is not None for v in settings) or profile:
        actor = await update_chapter(
            services,
            args.name,
            timezone=args.timezone,
            title=args.title,
            summary=args.summary,
            profile=profile,
        )
    if args.reminder_offsets is not None:
        actor = await set_chapter_offsets(services, args.name, offsets)
    assert actor is not None
    out(actor.ap_id)
    zone = actor.timezone or _("none (calls must give theirs)")
    err(_("time zone: {zone}").format(zone=zone))
    err(
        _("reminders: {reminders}").format(
            reminders=reminders_text(services, actor.reminder_offsets)
        )
    )
    if profile:
        err(_("profile: {profile}").format(profile=profile_text(actor)))
    return 0


def profile_changes(args: argparse.Namespace) -> dict[str, object]:
    """The profile options given (already checked by the parser); an empty value clears."""
    changes: dict[str, object] = {}
    for key in ("place_name", "address", "coordinates", "radius_km"):
        value = getattr(args, key, None)
        if value is not None:
            changes[key] = None if value == CLEAR else value
    for key in ("regions", "languages", "topics"):
        value = getattr(args, key, None)
        if value is not None:
            changes[key] = value
    return changes


def profile_text(actor: LocalActor) -> str:
    """The chapter's profile in one line, for the organiser who just set it."""
    profile = stored_profile(actor)
    place = profile.place
    parts = [p for p in (place.name, place.address) if p] if place else []
    if place is not None and place.latitude is not None:
        parts.append(f"{place.latitude},{place.longitude}")
    if profile.radius_km is not None:
        parts.append(_("within {radius} km").format(radius=f"{profile.radius_km:g}"))
    if profile.regions:
        parts.append(_("regions {regions}").format(regions=", ".join(profile.regions)))
    if profile.languages:
        parts.append(_("languages {languages}").format(languages=", ".join(profile.languages)))
    if profile.topics:
        topics = " ".join("#" + t for t in profile.topics)
        parts.append(_("topics {topics}").format(topics=topics))
    return "; ".join(parts) or _("none")


def reminders_text(services: Services, stored: object) -> str:
    """The chapter's reminders in words: ``1440, 120 minutes before a call (the node's)``."""
    minutes = chapter_offsets(services, stored)
    whose = _("the node's") if stored is None else _("the chapter's own")
    if not minutes:
        return _("none ({whose})").format(whose=whose)
    listed = ", ".join(str(m) for m in minutes)
    return ngettext(
        "{minutes} minute before a call ({whose})",
        "{minutes} minutes before a call ({whose})",
        minutes[-1] if len(minutes) == 1 else 2,
    ).format(minutes=listed, whose=whose)
