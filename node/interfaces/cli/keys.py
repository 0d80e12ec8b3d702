"""``keys rotate``: replace a local actor's keys (after a leak, or as routine)."""

from __future__ import annotations

import argparse

from node.features.actors.local import rotate_keys
from node.interfaces.cli.base import Subparsers, data_arg, err, out, with_services
from node.runtime.services import Services


@with_services
async def cmd_keys_rotate(args: argparse.Namespace, services: Services) -> int:
    """Followers learn the new key from an Update the workers send, not from this command."""
    actor = await rotate_keys(services, args.as_name, assertion=args.assertion_key)
    out(f"{services.ids.main_key(actor.name)} rotated")
    err("followers will receive an Update of the actor when the node next runs its workers")
    return 0


def register(sub: Subparsers) -> None:
    keys = sub.add_parser("keys", help="manage a local actor's keys").add_subparsers(
        dest="sub", required=True
    )
    p = keys.add_parser("rotate", help="replace an actor's keys and tell its followers")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="NAME")
    p.add_argument(
        "--assertion-key",
        action="store_true",
        help="also replace the Ed25519 key that signs objects (earlier proofs stop verifying)",
    )
    p.set_defaults(func=cmd_keys_rotate)
