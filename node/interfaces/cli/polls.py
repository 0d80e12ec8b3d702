"""``action poll CALL_ID``: publish a call's RSVP poll, which Mastodon users can answer."""

from __future__ import annotations

import argparse
import json

from node.features.calls.polls import publish_poll, question_document
from node.features.calls.polls_out import vote
from node.interfaces.cli.base import err, out, principal, with_services
from node.interfaces.cli.words import _
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
    err(
        _("{poll} (Going / Can't make it; closes when the call starts)").format(
            poll=question["name"]
        )
    )


@with_services
async def cmd_action_poll(args: argparse.Namespace, services: Services) -> int:
    """Publishing again prints the poll already published."""
    who = await principal(services, args.as_name)
    row = await publish_poll(services, who, args.call_id)
    await print_poll(services, row, as_json=args.json)
    return 0


@with_services
async def cmd_vote(args: argparse.Namespace, services: Services) -> int:
    """Prints the poll, the option and the member's commitment to the call after the vote."""
    who = await principal(services, args.as_name)
    sent = await vote(services, who, args.poll, args.option)
    out(f"{sent.poll} {sent.choice!r} sent" + (f"; {sent.call} {sent.state}" if sent.state else ""))
    return 0
