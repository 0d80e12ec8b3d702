"""Votes on our calls' RSVP polls: a ``Create{Note}`` in Mastodon's vote shape (``name`` = the
option, ``inReplyTo`` = the poll, ``attributedTo`` = the voter, no content).

A vote that is not one (credited to someone else, naming no option), that answers no poll of
ours, or that comes once the poll has closed (the call has started) is ignored with a log
line, and nothing is stored: Mastodon does the same with a late vote. The rest is taken as an
RSVP (``node/features/calls/votes.py``)."""

from __future__ import annotations

import logging

from node.features.calls.polls import call_for_poll
from node.features.calls.votes import take_vote
from node.interfaces.activitypub.handlers.context import HandlerContext
from protocol.activities import Activity
from protocol.errors import ProtocolError
from protocol.polls import parse_vote

log = logging.getLogger(__name__)


def _ignored(activity: Activity, reason: str) -> None:
    log.info(
        "vote.ignored",
        extra={"activity_id": activity.id, "actor": activity.actor, "reason": reason},
    )


async def handle_vote(ctx: HandlerContext, activity: Activity) -> None:
    """A Note that looks like a poll vote (``protocol.polls.looks_like_vote``)."""
    obj = activity.object
    assert obj is not None
    services = ctx.services
    if activity.type != "Create":
        _ignored(activity, f"a vote is sent with Create, not {activity.type}")
        return
    try:
        vote = parse_vote(obj, actor=activity.actor, allow_http=services.settings.allow_http)
    except ProtocolError as exc:
        _ignored(activity, str(exc))
        return
    row = await call_for_poll(ctx.session, vote.poll, for_update=True)
    if row is None:
        _ignored(activity, f"{vote.poll} is no poll of this node")
        return
    if row.start_time <= services.clock.now():
        _ignored(activity, f"the poll {vote.poll} closed when its call started")
        return
    result = await take_vote(ctx.session, services, row, vote)
    log.info(
        "vote.taken",
        extra={"activity_id": activity.id, "poll": vote.poll, "outcome": result.outcome},
    )
    if result.changed:
        ctx.queued_follow_ups = True
    ctx.queued_deliveries = True
