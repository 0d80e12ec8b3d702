"""``campaign``: the groups whose calls chapters adopt and whose totals add them up; their
members, and what their totals leave out."""

from __future__ import annotations

import argparse
import json

from node.features.actors.authz import NotFoundError
from node.features.actors.local import create_actor
from node.features.following.approval import approve_follower
from node.features.impact.exclusions import exclude, include, members
from node.interfaces.cli.base import Subparsers, data_arg, err, out, principal, with_services
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
    err(f"handle: acct:{created.actor.name}@{services.ids.authority}")
    if args.approve_chapters:
        err("chapters that join wait for an organiser: `chapterhouse campaign approve`")
    return 0


@with_services
async def cmd_campaign_members(args: argparse.Namespace, services: Services) -> int:
    found = await members(services, args.campaign)
    if args.json:
        out(json.dumps({"members": [m.as_json() for m in found]}))
    else:
        for member in found:
            out(f"{member.chapter}\t{member.state}")
        err(f"{len(found)} chapter(s)")
    return 0


@with_services
async def cmd_campaign_approve(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    async with services.db.read() as session:
        campaign = await actor_repo.local_actor_by_name(session, args.campaign)
    if campaign is None or campaign.kind != ActorKind.CAMPAIGN:
        raise NotFoundError(f"no campaign named {args.campaign!r} on this node")
    await approve_follower(services, who, campaign, args.chapter)
    out(args.chapter)
    err(f"{args.chapter} is a member of {args.campaign}")
    return 0


@with_services
async def cmd_campaign_exclude(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    moved = await exclude(services, who, args.campaign, args.iri, args.reason or "")
    out(args.iri)
    err(f"excluded; {moved} counted report(s) left the totals (the next rollup lists it)")
    return 0


@with_services
async def cmd_campaign_include(args: argparse.Namespace, services: Services) -> int:
    who = await principal(services, args.as_name)
    moved = await include(services, who, args.campaign, args.iri)
    out(args.iri)
    err(f"included again; {moved} report(s) count again")
    return 0


def register(sub: Subparsers) -> None:
    campaign = sub.add_parser("campaign", help="manage campaigns").add_subparsers(
        dest="sub", required=True
    )
    p = campaign.add_parser("create", help="create a campaign (prints its actor id)")
    p.add_argument("name")
    data_arg(p)
    p.add_argument("--title")
    p.add_argument("--summary")
    p.add_argument(
        "--approve-chapters",
        action="store_true",
        help="hold chapters that join as pending until an organiser approves them",
    )
    p.set_defaults(func=cmd_campaign_create)

    p = campaign.add_parser("members", help="the chapters of a campaign and their state")
    p.add_argument("campaign", metavar="CAMPAIGN")
    data_arg(p)
    p.add_argument("--json", action="store_true", help='{"members": [{"chapter", "state"}]}')
    p.set_defaults(func=cmd_campaign_members)

    p = campaign.add_parser("approve", help="accept a chapter that asked to join")
    p.add_argument("campaign", metavar="CAMPAIGN")
    p.add_argument("chapter", metavar="CHAPTER_IRI")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.set_defaults(func=cmd_campaign_approve)

    for name, func, what in (
        ("exclude", cmd_campaign_exclude, "leave a report or a chapter out of the totals"),
        ("include", cmd_campaign_include, "count an excluded report or chapter again"),
    ):
        p = campaign.add_parser(name, help=what)
        p.add_argument("campaign", metavar="CAMPAIGN")
        p.add_argument("iri", metavar="REPORT_OR_CHAPTER_IRI")
        data_arg(p)
        p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
        p.add_argument("--reason", help="why (published in the signed rollup)")
        p.set_defaults(func=func)
