"""Our members hear when a call elsewhere that they answered changes.

Their copy of the call is kept current by its chapter's ``Update`` (and ``Delete``, which
Mobilizon sends instead of a cancellation). When the new version moves the call's time or
place, cancels it or puts it back on, each member whose commitment is pending, accepted or
waitlisted is told on this node (in-app and e-mail: they are ours, so no direct message),
once per received activity. The inbox handler calls this before it stores the new version, in
the same transaction: a replay of the activity finds nothing changed and tells nobody."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.names import display_names
from node.features.calls.lifecycle import cancellation_reason
from node.features.notifications.changes import change_facts, change_kind, tell_people
from node.runtime.services import Services
from protocol.errors import ProtocolError
from protocol.events import CANCELLED, ActionCall, parse_event
from storage.models import ActionCall as CallRow
from storage.repositories import reminders as reminder_repo

log = logging.getLogger(__name__)


async def tell_members_of_change(
    session: AsyncSession,
    services: Services,
    row: CallRow,
    after: ActionCall,
    document: Mapping[str, object],
    *,
    key: str,
) -> int:
    """Our copy ``row`` (still the old version) is about to become ``after`` (received as
    ``document``, by the activity ``key``): tell the members it concerns. Returns how many."""
    if row.local_actor_id is not None:
        return 0  # our own calls tell their people where they change (changes.py)
    try:
        before = parse_event(row.document, allow_http=services.settings.allow_http)
    except ProtocolError:
        return 0  # an unreadable old copy: nothing to compare with
    kind = change_kind(before, after)
    if kind is None:
        return 0
    people = await reminder_repo.members_hoping(session, row.ap_id)
    if not people:
        return 0
    name = (await display_names(session, [after.chapter]))[after.chapter].name
    data = change_facts(kind, after, name, cancellation_reason(document))
    told = await tell_people(
        session, services, people=people, kind=kind, key=key, data=data, call=row.ap_id, sender=None
    )
    log.info("call_change.told", extra={"call": row.ap_id, "kind": str(kind), "told": told})
    return told


async def tell_members_of_deletion(
    session: AsyncSession, services: Services, row: CallRow, *, key: str
) -> int:
    """Its chapter deleted a call elsewhere (our copy ``row``, still as it was): to those
    going, it is cancelled."""
    try:
        before = parse_event(row.document, allow_http=services.settings.allow_http)
    except ProtocolError:
        return 0
    after = dataclasses.replace(before, status=CANCELLED)
    return await tell_members_of_change(session, services, row, after, {}, key=key)
