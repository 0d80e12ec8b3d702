"""Our members hear how another node's chapter answered their RSVPs.

The chapter answers a Join with ``Accept`` or ``Reject`` (``handlers/join.py`` records it), or,
when the call is full, with nothing yet: a direct message says the member is on the waiting
list (``chapterhouse:notice`` ``rsvp_waitlisted``, FEDERATION.md), and the ``Accept`` follows
when a place frees. Each answer that changes a commitment tells the member once (the
answer's id is the notification's key, so a replayed answer tells nobody twice).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.names import display_names
from node.features.notifications.kinds import Kind
from node.features.notifications.notify import notify
from node.features.notifications.wording import call_facts
from node.runtime.services import Services
from protocol.errors import ProtocolError
from protocol.events import parse_event
from storage.models import Commitment, LocalActor
from storage.models.states import CommitmentState
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo


async def _facts(session: AsyncSession, services: Services, row: Commitment) -> dict[str, Any]:
    """The call as our copy has it (title, time, place), else just its address."""
    chapter = (await display_names(session, [row.chapter]))[row.chapter].name
    copy = await action_repo.call_by_ap_id(session, row.call)
    if copy is not None:
        try:
            return call_facts(
                parse_event(copy.document, allow_http=services.settings.allow_http), chapter
            )
        except ProtocolError:
            pass  # an unreadable copy: the member still hears of the answer
    return {"url": row.call, "chapter": chapter}


async def tell_member(
    session: AsyncSession,
    services: Services,
    row: Commitment,
    kind: Kind,
    key: str,
    **extra: Any,
) -> None:
    """Tell the member whose commitment ``row`` is of its answer ``kind`` (once per ``key``)."""
    member = await session.get(LocalActor, row.member_id)
    if member is None:
        return
    data = await _facts(session, services, row)
    data.update({k: v for k, v in extra.items() if v is not None})
    await notify(
        session, services, recipient=member.ap_id, kind=kind, key=key, data=data, call=row.call
    )


#: What a notice from the hosting chapter does to a commitment: (the states it moves from, the
#: state it moves to). A member's Join is answered by ``Accept``/``Reject``, so only the
#: waiting list needs a notice; a member's poll vote (``polls_out.py``) is answered by notices
#: alone, as Mastodon users are.
NOTICE_ANSWERS: dict[str, tuple[frozenset[str], CommitmentState]] = {
    Kind.WAITLISTED: (frozenset({CommitmentState.PENDING}), CommitmentState.WAITLISTED),
    Kind.ACCEPTED: (
        frozenset({CommitmentState.PENDING, CommitmentState.WAITLISTED}),
        CommitmentState.ACCEPTED,
    ),
    Kind.PROMOTED: (
        frozenset({CommitmentState.PENDING, CommitmentState.WAITLISTED}),
        CommitmentState.ACCEPTED,
    ),
    Kind.REJECTED: (frozenset({CommitmentState.PENDING}), CommitmentState.REJECTED),
}


async def answered_by_notice(
    session: AsyncSession,
    services: Services,
    *,
    kind: str,
    sender: str,
    call: str,
    recipients: list[str],
    key: str,
    reason: str | None = None,
) -> int:
    """The chapter ``sender`` tells our members among ``recipients``, by direct message, how
    it answered their RSVP to its call ``call`` (``NOTICE_ANSWERS``): a commitment in one of
    the states the notice moves from (only the hosting chapter may say so; an ``Accept`` that
    came first wins) takes its new state, and the member is told. Returns how many changed."""
    if kind not in NOTICE_ANSWERS:
        return 0
    before, after = NOTICE_ANSWERS[kind]
    changed = 0
    for recipient in dict.fromkeys(recipients):
        member = await actor_repo.local_actor_by_ap_id(session, recipient)
        if member is None:
            continue
        row = await action_repo.commitment(session, member.id, call)
        if row is None or row.chapter != sender or row.state not in before:
            continue
        row.state = after
        row.reason = reason[:500] if reason and after == CommitmentState.REJECTED else None
        row.updated_at = services.clock.now()
        await tell_member(session, services, row, Kind(kind), key)
        changed += 1
    return changed
