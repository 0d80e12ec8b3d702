"""``campaign create``: the groups whose calls chapters adopt and whose totals add them up."""

from __future__ import annotations

import argparse

from node.features.actors.local import create_actor
from node.interfaces.cli.base import Subparsers, data_arg, err, out, with_services
from node.runtime.services import Services
from storage.models.states import ActorKind


@with_services
async def cmd_campaign_create(args: argparse.Namespace, services: Services) -> int:
    """Prints the actor id (the result) and the handle chapters follow (a note)."""
    created = await create_actor(
        services, args.name, ActorKind.CAMPAIGN, title=args.title, summary=args.summary
    )
    out(created.actor.ap_id)
    err(f"handle: acct:{created.actor.name}@{services.ids.authority}")
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
    p.set_defaults(func=cmd_campaign_create)
