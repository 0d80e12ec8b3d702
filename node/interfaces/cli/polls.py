"""``action poll CALL_ID``: publish a call's RSVP poll, which Mastodon users can answer."""

from __future__ import annotations

import argparse
import json

from node.features.calls.polls import publish_poll, question_document
from node.features.calls.polls_out import vote
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


@with_services
async def cmd_vote(args: argparse.Namespace, services: Services) -> int:
    """Prints the poll, the option and the member's commitment to the call after the vote."""
    who = await principal(services, args.as_name)
    sent = await vote(services, who, args.poll, args.option)
    out(f"{sent.poll} {sent.choice!r} sent" + (f"; {sent.call} {sent.state}" if sent.state else ""))
    return 0


def register_vote(sub: Subparsers) -> None:
    p = sub.add_parser(
        "vote",
        help="answer another chapter's RSVP poll (as a Mastodon user would)",
        description="Vote on a poll published elsewhere (a Question, e.g. a chapter's RSVP "
        "poll 'Coming to ...?'). 'Going' records a pending commitment to the poll's call; the "
        "chapter's answer (accepted, waiting list, refused) arrives as a direct message and "
        "shows in `commitments` and `notifications`. 'Can't make it' withdraws it.",
    )
    p.add_argument("poll", metavar="POLL_URL")
    p.add_argument("option", metavar="OPTION", help="the option's exact text, e.g. Going")
    data_arg(p)
    p.add_argument("--as", dest="as_name", required=True, metavar="MEMBER")
    p.set_defaults(func=cmd_vote)
