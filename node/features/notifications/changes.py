"""Telling people that a call they hope to go to changed: its time or place, a cancellation,
a restoration. Other edits (the description, the goal, the capacity) tell nobody.

For our own calls (``lifecycle``: an organiser's edit, cancel or restore, and a campaign's
change reaching a call adopted from it) everyone concerned is told in the transaction of the
change, once per change (the key is the change's ``Update``):

- our members whose commitment is pending, accepted or waitlisted: in-app (and e-mail);
- the remote participants (holding a place or waiting for one): a direct message from the
  chapter, since most fediverse software shows an ``Update`` of an event to nobody.

A Chapterhouse participant's own node also tells its member, from the Update it receives
(``remote_changes.py``); its software ignores the direct message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.notifications.kinds import Kind
from node.features.notifications.notify import notify
from node.features.notifications.wording import call_facts
from node.runtime.services import Services
from protocol.events import ActionCall
from storage.models import ActionCall as CallRow
from storage.models import LocalActor
from storage.repositories import reminders as reminder_repo


def _time_and_place(call: ActionCall) -> tuple[object, ...]:
    return (call.start, call.end, call.place, call.online_url)


def change_kind(before: ActionCall, after: ActionCall) -> Kind | None:
    """What a new version of a call means to those going: cancelled, back on, moved (time or
    place), or nothing worth telling."""
    if after.cancelled != before.cancelled:
        return Kind.CANCELLED if after.cancelled else Kind.RESTORED
    if after.cancelled:
        return None
    if _time_and_place(before) != _time_and_place(after):
        return Kind.CHANGED
    return None


def change_facts(
    kind: Kind, after: ActionCall, chapter_name: str | None, reason: str | None
) -> dict[str, Any]:
    """What the notification keeps: the call as it is now (and why it was cancelled)."""
    data = call_facts(after, chapter_name)
    if kind == Kind.CANCELLED and reason:
        data["reason"] = reason
    return data


async def tell_people(
    session: AsyncSession,
    services: Services,
    *,
    people: list[str],
    kind: Kind,
    key: str,
    data: Mapping[str, Any],
    call: str,
    sender: LocalActor | None,
) -> int:
    """One notification each (a person listed twice is told once); returns how many."""
    told = 0
    for person in dict.fromkeys(people):
        note = await notify(
            session,
            services,
            recipient=person,
            kind=kind,
            key=key,
            data=data,
            call=call,
            sender=sender,
        )
        told += note is not None
    return told


async def tell_local_change(
    session: AsyncSession,
    services: Services,
    chapter: LocalActor,
    row: CallRow,
    before: ActionCall,
    after: ActionCall,
    *,
    key: str,
    reason: str | None = None,
) -> int:
    """The organisers changed our call ``row`` from ``before`` to ``after`` (in the caller's
    transaction): tell everyone concerned, if the change concerns them (see the module).
    ``key`` names the change (its Update's id); ``reason`` is a cancellation's."""
    kind = change_kind(before, after)
    if kind is None:
        return 0
    people = await reminder_repo.members_hoping(session, row.ap_id)
    people += await reminder_repo.remote_participants(session, row.id)
    data = change_facts(kind, after, chapter.title or chapter.name, reason)
    return await tell_people(
        session,
        services,
        people=people,
        kind=kind,
        key=key,
        data=data,
        call=row.ap_id,
        sender=chapter,
    )
