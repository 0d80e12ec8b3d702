"""What organisers are told that nobody else is: a follower waiting for their approval, and
a report due (a call of theirs ended a day ago with no impact report).

Both go to the chapter's organisers and admins (active memberships), in-app and by e-mail, once
per event: the follow request's activity, the call."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.names import display_names
from node.features.notifications.kinds import Kind
from node.features.notifications.notify import notify
from node.features.notifications.wording import call_facts
from node.runtime.services import Services
from protocol.errors import ProtocolError
from protocol.events import parse_event
from storage.models import ActionCall as CallRow
from storage.models import LocalActor
from storage.models.states import ActorKind
from storage.repositories import places as places_repo
from storage.repositories import reminders as reminder_repo

log = logging.getLogger(__name__)

#: A call that ended this long ago with no report has one due...
REPORT_AFTER: Final = timedelta(days=1)
#: ...until this long after its end (older calls are not brought up again).
REPORT_UNTIL: Final = timedelta(days=7)


async def tell_follower_waiting(
    session: AsyncSession,
    services: Services,
    chapter: LocalActor,
    follower: str,
    *,
    key: str,
) -> int:
    """``follower`` asked to follow ``chapter``, which approves followers by hand: its
    organisers are told, in the caller's transaction (the caller tells them once per request
    that starts waiting, not again for a request repeated while the first waits). ``key``
    names the request (its Follow). Returns how many were told."""
    who = (await display_names(session, [follower]))[follower]
    data = {
        "who": who.handle or who.name,
        "follower": follower,
        "chapter": chapter.title or chapter.name,
        "url": f"{chapter.ap_id}/manage",
    }
    told = 0
    for organiser in await places_repo.organisers_of(session, chapter.id):
        note = await notify(
            session,
            services,
            recipient=organiser,
            kind=Kind.FOLLOWER_WAITING,
            key=key,
            data=data,
        )
        told += note is not None
    return told


async def tell_reports_due(services: Services, now: datetime) -> int:
    """Tell the organisers of each of our chapters' calls that ended between a day and a week
    ago, not cancelled and with no report, that one is due (once per call: the notification
    itself records that they were told). Campaigns' calls are left out: the chapters that take
    them up report on their own calls. Returns how many were told."""
    async with services.db.read() as session:
        calls = await reminder_repo.calls_owing_a_report(
            session, now - REPORT_UNTIL, now - REPORT_AFTER, str(Kind.REPORT_DUE)
        )
        ids = [c.id for c in calls]
    told = 0
    for call_id in ids:
        async with services.db.write() as session:
            told += await _report_due(session, services, call_id)
    if told:
        services.wakeups.follow_ups.set()
    return told


async def _report_due(session: AsyncSession, services: Services, call_id: int) -> int:
    row = await session.get(CallRow, call_id)
    if row is None or row.local_actor_id is None:
        return 0
    chapter = await session.get(LocalActor, row.local_actor_id)
    if chapter is None or chapter.kind != ActorKind.CHAPTER:
        return 0
    try:
        call = parse_event(row.document, allow_http=services.settings.allow_http)
    except ProtocolError:
        return 0
    data = call_facts(call, chapter.title or chapter.name)
    told = 0
    for organiser in await places_repo.organisers_of(session, chapter.id):
        note = await notify(
            session,
            services,
            recipient=organiser,
            kind=Kind.REPORT_DUE,
            key=row.ap_id,
            data=data,
            call=row.ap_id,
        )
        told += note is not None
    if told:
        log.info("report_due.told", extra={"call": row.ap_id, "organisers": told})
    return told
