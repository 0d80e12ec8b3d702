"""``notifications``: a member's notifications, as /me lists them (a contract: ``--json`` prints
one list, each item with ``id``, ``kind``, ``subject``, ``text``, ``call``, ``url``,
``createdAt`` and ``read``, as ``GET /api/v1/notifications`` gives them)."""

from __future__ import annotations

import argparse
import json

from node.features.notifications.listing import mark_read, notification_json, notifications_of
from node.features.notifications.wording import ENGLISH, Speech
from node.interfaces.cli.base import (
    CommandError,
    err,
    out,
    principal,
    with_services,
)
from node.interfaces.cli.words import _, language, ngettext
from node.runtime.services import Services
from storage.models.states import ActorKind


@with_services
async def cmd_notifications(args: argparse.Namespace, services: Services) -> int:
    """Newest first; ``--mark-read`` marks the ones listed read once they are printed."""
    who = await principal(services, args.as_name)
    if who.actor.kind != ActorKind.MEMBER:
        raise CommandError(
            _("{name} is not a member: only members get notifications").format(name=args.as_name)
        )
    # --json is for scripts: its words stay English; the lines are for the reader.
    speech = (
        ENGLISH
        if args.json
        else Speech(language(), services.catalogues.translations(language(), "messages"))
    )
    items = await notifications_of(services, who.actor.id, unread_only=args.unread, speech=speech)
    if args.json:
        out(json.dumps([notification_json(item) for item in items]))
    else:
        for item in items:
            mark = "*" if not item.read else " "
            when = item.created_at.strftime("%Y-%m-%d %H:%M UTC")
            link = f" {item.link}" if item.link else ""
            out(f"{mark} {item.id} {when} {item.text}{link}")
        if not items:
            err(_("no unread notifications") if args.unread else _("no notifications"))
    if args.mark_read and items:
        marked = await mark_read(services, who.actor.id, [item.id for item in items])
        err(ngettext("marked {count} read", "marked {count} read", marked).format(count=marked))
    return 0
