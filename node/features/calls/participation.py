"""Taking part in a local call: the rules shared by remote Joins and local RSVPs.

A change of participants stores the call's new count at once; the followers' Update is a
coalesced follow-up (``refresh_participation`` in ``lifecycle``), so callers wake the
follow-up worker after their commit rather than the delivery worker."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.calls.lifecycle import call_from_row, refresh_participation
from node.runtime.services import Services
from storage.models import ActionCall as CallRow
from storage.models import LocalActor
from storage.repositories import actions as action_repo
from storage.repositories import moderation as moderation_repo


@dataclass(frozen=True, slots=True)
class Decision:
    accepted: bool
    reason: str | None = None


async def join_local_call(
    session: AsyncSession, services: Services, call_id: str, actor: str, join_id: str
) -> tuple[Decision, CallRow | None, LocalActor | None]:
    """Admit ``actor`` to a call hosted here, unless it is unknown, cancelled or full."""
    row = await action_repo.call_by_ap_id(session, call_id, for_update=True)
    if row is None or row.local_actor_id is None:
        return Decision(False, f"no action call {call_id} here"), None, None
    chapter = await session.get(LocalActor, row.local_actor_id)
    assert chapter is not None
    call = call_from_row(row, services)
    if call.cancelled:
        return Decision(False, "the action call is cancelled"), row, chapter
    if call.join_mode == "external":
        return Decision(False, "this action call takes no RSVPs"), row, chapter
    if await moderation_repo.is_banned(session, chapter.id, actor):
        return Decision(False, "the chapter does not admit you to its action calls"), row, chapter
    if await action_repo.participant(session, row.id, actor) is not None:
        return Decision(True), row, chapter  # a repeated Join is answered again
    count = await action_repo.count_participants(session, row.id)
    if call.capacity is not None and count >= call.capacity:
        return Decision(False, "the action call is full"), row, chapter
    await action_repo.add_participant(session, row.id, actor, join_id, services.clock.now())
    await refresh_participation(session, services, row, chapter)
    return Decision(True), row, chapter


async def leave_local_call(
    session: AsyncSession, services: Services, call_id: str, actor: str
) -> bool:
    row = await action_repo.call_by_ap_id(session, call_id, for_update=True)
    if row is None or row.local_actor_id is None:
        return False
    chapter = await session.get(LocalActor, row.local_actor_id)
    assert chapter is not None
    removed = await action_repo.remove_participant(session, row.id, actor)
    if removed:
        await refresh_participation(session, services, row, chapter)
    return removed
