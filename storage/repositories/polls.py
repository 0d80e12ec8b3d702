"""Votes on our calls' RSVP polls (one per voter and call), and the poll's tallies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Participant, PollVote, RemoteActor
from storage.models.states import PlaceState


async def vote_of(session: AsyncSession, call_id: int, actor: str) -> PollVote | None:
    return await session.scalar(
        select(PollVote).where(PollVote.call_id == call_id, PollVote.actor == actor)
    )


async def record_vote(
    session: AsyncSession, call_id: int, actor: str, choice: str, note_id: str, now: datetime
) -> PollVote:
    """The actor's vote is now ``choice`` (a changed vote replaces the earlier one)."""
    row = await vote_of(session, call_id, actor)
    if row is None:
        row = PollVote(
            call_id=call_id,
            actor=actor,
            choice=choice,
            note_id=note_id,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    else:
        row.choice, row.note_id, row.updated_at = choice, note_id, now
    await session.flush()
    return row


async def accepted_count(session: AsyncSession, call_id: int) -> int:
    """Places held in the call (waitlisted people hold none)."""
    return int(
        await session.scalar(
            select(func.count()).where(
                Participant.call_id == call_id, Participant.state == PlaceState.ACCEPTED
            )
        )
        or 0
    )


async def count_choice_without_place(session: AsyncSession, call_id: int, choice: str) -> int:
    """Voters for ``choice`` who hold no place in the call (someone who said no and later
    joined by ``Join`` counts as going, not twice)."""
    holding = select(Participant.actor).where(
        Participant.call_id == call_id, Participant.state == PlaceState.ACCEPTED
    )
    return int(
        await session.scalar(
            select(func.count()).where(
                PollVote.call_id == call_id,
                PollVote.choice == choice,
                PollVote.actor.not_in(holding),
            )
        )
        or 0
    )


async def voter_inboxes(session: AsyncSession, call_id: int) -> list[str]:
    """Delivery inboxes (shared where offered) of the poll's voters whose accounts are not
    gone: they see the poll's counts even if they follow nobody here."""
    inbox = func.coalesce(RemoteActor.shared_inbox, RemoteActor.inbox)
    rows = await session.scalars(
        select(inbox)
        .join(PollVote, PollVote.actor == RemoteActor.ap_id)
        .where(PollVote.call_id == call_id, RemoteActor.gone_at.is_(None))
        .distinct()
    )
    return [r for r in rows if r]
