"""``verify``: check a campaign's rollup against the signed reports it counts, so anyone can
audit a total without trusting the node that published it."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from node.features.impact.verify import Verdict, verify_rollup
from node.interfaces.cli.base import Subparsers, err, out, with_services
from node.runtime.services import Services


async def cmd_verify(args: argparse.Namespace) -> int:
    """Exit 0 only if every report checks out; 1 on any mismatch (the problems are listed)."""

    def progress(done: int, total: int) -> None:
        if not args.json and (done == total or done % 50 == 0):
            err(f"checked {done}/{total} reports")

    if args.data is not None:  # as that node: signed fetches, its own network policy
        verdict = await _verify_as_node(args, progress)
    else:
        verdict = await verify_rollup(
            args.url, allow_private_network=args.allow_private_network, progress=progress
        )
    if args.json:
        out(json.dumps(verdict.as_json()))
    else:
        out(
            ("VERIFIED" if verdict.ok else "MISMATCH")
            + f": {verdict.verified}/{verdict.sources} reports check out"
        )
        for problem in verdict.problems:
            out(f"- {problem['source']}: {problem['problem']}")
    return 0 if verdict.ok else 1


@with_services
async def _verify_as_node(
    args: argparse.Namespace, services: Services, progress: Callable[[int, int], None]
) -> Verdict:
    return await verify_rollup(
        args.url,
        allow_private_network=services.settings.allow_private_network,
        progress=progress,
        transport=services.transport,
        signer=await services.fetch_signer(),
    )


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "verify",
        help="check a rollup against every report it counts (exit 0 only if all check out)",
    )
    p.add_argument("url", metavar="URL")
    p.add_argument(
        "--allow-private-network", action="store_true", help="allow loopback/private addresses"
    )
    p.add_argument(
        "--data",
        metavar="DIR",
        help="verify as this node: fetches are signed by its instance actor, so chapters that "
        "require signed fetches (authorized fetch) answer",
    )
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=cmd_verify)
