"""``campaign``: the groups whose calls chapters adopt and whose totals add them up; their
members, and what their totals leave out."""

from __future__ import annotations

import argparse
import json

from node.features.actors.authz import NotFoundError
from node.features.actors.local import create_actor
from node.features.following.approval import approve_follower
from node.features.impact.exclusions import exclude, include, members
from node.interfaces.cli.base import err, out, principal, with_services
from node.interfaces.cli.words import _, ngettext
from node.runtime.services import Services
from storage.models.states import ActorKind
from storage.repositories import actors as actor_repo


@with_services
async def cmd_campaign_create(args: argparse.Namespace, services: Services) -> int:
    """Prints the actor id (the result) and the handle chapters follow (a note)."""
    created = await create_actor(
        services,
        args.name,
        ActorKind.CAMPAIGN,
        title=args.title,
        summary=args.summary,
        approve_followers=args.approve_chapters,
    )
    out(created.actor.ap_id)
    err(_("handle: {handle}").format(handle=f"acct:{created.actor.name}@{services.ids.authority}"))
    if args.approve_chapters:
        err(_("chapters that join wait for an organiser: `chapterhouse campaign approve`"))
    return 0


@with_services
async def cmd_campaign_members(args: argparse.Namespace, services: Services) -> int:
    found = await members(services, args.campaign)
    if args.json:
        out(json.dumps({"members": [m.as_json() for m in found]}))
    else:
        for member in found:
            out(f"{member.chapter}\t{member.state}")
        err(ngettext("{count} chapter", "{count} chapters", len(found)).format(count=len(found)))
    return 0


@with_services
async def cmd_campaign_approve(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    async with services.db.read() as session:
        campaign = await actor_repo.local_actor_by_name(session, args.campaign)
    if campaign is None or campaign.kind != ActorKind.CAMPAIGN:
        raise NotFoundError(_("no campaign named {name!r} on this node").format(name=args.campaign))
    await approve_follower(services, who, campaign, args.chapter)
    out(args.chapter)
    err(
        _("{chapter} is a member of {campaign}").format(
            chapter=args.chapter, campaign=args.campaign
        )
    )
    return 0


@with_services
async def cmd_campaign_exclude(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    moved = await exclude(services, who, args.campaign, args.iri, args.reason or "")
    out(args.iri)
    err(
        ngettext(
            "excluded; {count} counted report left the totals (the next rollup lists it)",
            "excluded; {count} counted reports left the totals (the next rollup lists it)",
            moved,
        ).format(count=moved)
    )
    return 0


@with_services
async def cmd_campaign_include(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    moved = await include(services, who, args.campaign, args.iri)
    out(args.iri)
    err(
        ngettext(
            "included again; {count} report counts again",
            "included again; {count} reports count again",
            moved,
        ).format(count=moved)
    )
    return 0
