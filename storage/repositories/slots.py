"""The places taken in a call's slots (shifts or roles), counted from its participants."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Participant


async def slots_named(session: AsyncSession, call_id: int) -> set[str]:
    """Every slot id a participant of the call names, waiting or not (a new slot must not take
    such an id: it would hand that person a place they never asked for)."""
    rows = await session.scalars(
        select(Participant.slot)
        .where(Participant.call_id == call_id, Participant.slot.is_not(None))
        .distinct()
    )
    return {str(s) for s in rows}
