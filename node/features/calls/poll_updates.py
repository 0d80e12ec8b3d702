"""Scheduling a call's poll counts for the followers: a coalesced follow-up, like the call's
own participation update (``recount.refresh_participation``), so that twenty votes cost each
inbox one ``Update{Question}``. Kept apart from ``polls.py`` so that ``lifecycle`` can ask for
it whenever the call's participants change, without importing what builds on ``lifecycle``."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from node.federation.followups.queue import follow_up
from node.runtime.services import Services
from storage.models import ActionCall as CallRow
from storage.repositories import follow_ups as follow_up_repo

#: The follow-up kind that sends a call's poll with its current counts (key: the poll's id).
POLL_UPDATE: Final = "call_poll_update"


async def schedule_poll_update(session: AsyncSession, services: Services, row: CallRow) -> bool:
    """The call's poll counts changed: followers and voters get them at most once per
    ``participation_update_seconds``. True when a run was scheduled (wake the follow-up worker
    after the commit); False for a call without a poll, or when a waiting run absorbs it."""
    if not row.poll:
        return False
    item = follow_up(POLL_UPDATE, row.poll, {"call": row.ap_id}, about=row.chapter)
    spacing = timedelta(seconds=services.settings.participation_update_seconds)
    return await follow_up_repo.schedule_once(
        session, item, now=services.clock.now(), spacing=spacing
    )
