"""``keys rotate``: replace a local actor's keys (after a leak, or as routine)."""

from __future__ import annotations

import argparse

from node.features.actors.local import rotate_keys
from node.interfaces.cli.base import err, out, with_services
from node.interfaces.cli.words import _
from node.runtime.services import Services


@with_services
async def cmd_keys_rotate(args: argparse.Namespace, services: Services) -> int:
    """Followers learn the new key from an Update the workers send, not from this command."""
    actor = await rotate_keys(services, args.as_name, assertion=args.assertion_key)
    out(f"{services.ids.main_key(actor.name)} rotated")
    err(_("followers will receive an Update of the actor when the node next runs its workers"))
    return 0
