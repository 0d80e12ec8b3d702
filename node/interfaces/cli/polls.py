"""``action poll CALL_ID``: publish a call's RSVP poll, which Mastodon users can answer."""

from __future__ import annotations

import argparse
import json

from node.features.calls.polls import publish_poll, question_document
from node.interfaces.cli.base import Subparsers, data_arg, err, out, principal, with_services
from node.runtime.services import Services
from storage.models import ActionCall as CallRow


async def print_poll(services: Services, row: CallRow, *, as_json: bool) -> None:
    """The poll's id on stdout (or the whole Question as JSON); its question on stderr."""
    async with services.db.read() as session:
        question = await question_document(session, services, row)
    assert question is not None
    if as_json:
        out(json.dumps(question))
        return
    out(str(question["id"]))
    err(f"{question['name']} (Going / Can't make it; closes when the call starts)")


@with_services
async def cmd_action_poll(args: argparse.Namespace, services: Services) -> int:
    """Publishing again prints the poll already published."""
    who = await principal(services, args.as_name)
    row = await publish_poll(services, who, args.call_id)
    await print_poll(services, row, as_json=args.json)
    return 0


def register_action(actions: Subparsers) -> None:
    p = actions.add_parser(
        "poll",
        help="publish a call's RSVP poll (prints its id); a vote counts as an RSVP",
        description="Publish the call's RSVP poll to the chapter's followers: a Question "
        "'Coming to <title> on <date>?' with 'Going' and 'Can't make it', closing when the call "
        "starts. Mastodon users vote on it; 'Going' counts as a Join (capacity and waiting "
        "list apply) and each voter gets a direct message saying what happened.",
    )
    p.add_argument("call_id", metavar="CALL_ID")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="ORGANISER")
    p.add_argument("--json", action="store_true", help="print the poll (a Question) as JSON")
    p.set_defaults(func=cmd_action_poll)
