"""``verify``: check a campaign's rollup against the signed reports it counts, so anyone can
audit a total without trusting the node that published it."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from node.features.impact.verify import (
    MISMATCH,
    UNVERIFIABLE,
    VERIFIED,
    Verdict,
    verify_rollup,
)
from node.interfaces.cli.base import err, out, with_services
from node.interfaces.cli.words import _
from node.runtime.services import Services

#: The verdicts as exit codes: scripts tell "wrong" (1) from "could not check" (3).
EXIT_BY_VERDICT = {VERIFIED: 0, MISMATCH: 1, UNVERIFIABLE: 3}


async def cmd_verify(args: argparse.Namespace) -> int:
    """Exit 0 verified; 1 a proof, hash or total is wrong (named); 3 some document could not be
    fetched (listed, and nothing unchecked is called a mismatch); 2 usage."""

    def progress(done: int, total: int) -> None:
        if not args.json and (done == total or done % 50 == 0):
            err(_("checked {done}/{total} reports").format(done=done, total=total))

    if args.data is not None:  # as that node: signed fetches, its own network policy
        verdict = await _verify_as_node(args, progress)
    else:
        verdict = await verify_rollup(
            args.url, allow_private_network=args.allow_private_network, progress=progress
        )
    if args.json:
        out(json.dumps(verdict.as_json()))
    else:
        out(f"{verdict.verdict.upper()}: {verdict.checked}/{verdict.sources} reports check out")
        for problem in verdict.problems:
            out(f"- wrong: {problem['source']}: {problem['problem']}")
        for missing in verdict.unreachable:
            out(f"- not checked: {missing['source']}: {missing['error']}")
        for excluded in verdict.excluded:
            what = excluded["report"]
            if "metric" in excluded:
                what += f" ({excluded['metric']} in {excluded['unit']})"
            out(f"- excluded: {what}: {excluded['reason']}")
    return EXIT_BY_VERDICT[verdict.verdict]


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
