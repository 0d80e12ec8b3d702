"""A call's participant count: recounted and stored when its places change, and sent to the
followers later (``lifecycle``'s coalesced ``call_participation_update`` follow-up).

Each change of a call's places stores the new count in its signed document within the same
transaction, so our pages and anyone fetching the call see it as soon as the change commits.
A Join gives a place: then the recount, the signature and the write wait for the commit
(``_settle``, a ``before_commit`` hook of the session, in the same transaction), so a burst of
Joins handled in one inbox batch signs and stores the call once, not once per Join. The
followers' follow-ups are durable rows scheduled at once, once per call and transaction.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Final

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from node.features.calls.lifecycle import (
    PARTICIPATION_UPDATE,
    call_from_row,
    cancellation_reason,
    event_document,
    row_values,
    signed,
)
from node.features.calls.places import counted, with_counts
from node.features.calls.poll_updates import schedule_poll_update
from node.federation.followups.queue import follow_up
from node.runtime.services import Services
from protocol.events import ActionCall
from storage.models import ActionCall as CallRow
from storage.models import LocalActor
from storage.repositories import follow_ups as follow_up_repo
from storage.repositories import places as places_repo


async def refresh_participation(
    session: AsyncSession,
    services: Services,
    row: CallRow,
    chapter: LocalActor,
    *,
    grew: bool = False,
) -> bool:
    """Recount the places held (accepted participants, in all and per slot; the waiting list
    holds none) and store the new document; followers get it later, at most once per
    ``participation_update_seconds`` (a durable follow-up, so a restart keeps it). Returns
    True when that update was scheduled (wake the follow-up worker after the commit).

    ``grew``: the caller just gave a new place (a Join). Then the document is recounted,
    re-signed and stored once per call and transaction, just before the commit (``_settle``):
    a batch of Joins on one call signs it once, and what commits still holds every place. The
    follow-ups are scheduled at once (once per transaction: ``_schedule``)."""
    if grew:
        _settle_at_commit(session, services, row, chapter)
        return await _schedule(session, services, row, chapter)
    current = call_from_row(row, services)
    call = await counted(session, row, current)
    if (call.participant_count, call.slots) == (current.participant_count, current.slots):
        return False
    _store_counted(services, row, chapter, call)
    return await _schedule(session, services, row, chapter)


def _store_counted(services: Services, row: CallRow, chapter: LocalActor, call: ActionCall) -> None:
    """Store ``call`` (recounted) as the call's signed document, now."""
    call = dataclasses.replace(call, updated=services.clock.now())
    doc = signed(services, chapter, event_document(call, cancellation_reason(row.document)))
    for key, value in row_values(call, doc).items():
        setattr(row, key, value)


async def _schedule(
    session: AsyncSession, services: Services, row: CallRow, chapter: LocalActor
) -> bool:
    """The call's participation (and poll) follow-ups, once per transaction: the first request
    leaves the rows pending and locked by this transaction (``schedule_once``), so the later
    ones could only be absorbed by them."""
    memo = session.sync_session.info
    transaction = session.sync_session.get_transaction()
    if memo.get((_SCHEDULED, row.id)) == (transaction, row.poll):
        return False
    await schedule_poll_update(session, services, row)  # its "Going" is this count
    item = follow_up(PARTICIPATION_UPDATE, row.ap_id, {"call": row.ap_id}, about=chapter.ap_id)
    spacing = timedelta(seconds=services.settings.participation_update_seconds)
    scheduled = await follow_up_repo.schedule_once(
        session, item, now=services.clock.now(), spacing=spacing
    )
    memo[(_SCHEDULED, row.id)] = (transaction, row.poll)
    return scheduled


#: How ``_schedule`` notes, in the session's ``info`` (one session per unit of work), the
#: transaction that already scheduled a call's follow-ups: a rolled-back transaction's note
#: never matches the next one.
_SCHEDULED: Final = "participation_scheduled_in"
#: The calls whose documents ``_settle`` recounts at the commit (``info``: call id → what it
#: needs), and the mark of a session whose commits it watches.
_UNSETTLED: Final = "participation_unsettled"
_WATCHED: Final = "participation_watched"
_Unsettled = tuple[SessionTransaction | None, Services, CallRow, LocalActor]


def _settle_at_commit(
    session: AsyncSession, services: Services, row: CallRow, chapter: LocalActor
) -> None:
    """Have ``_settle`` store the call's recounted document before this transaction commits.
    The session holds ``row`` (and so its changes) until then; a rollback drops it all.

    What could fail there is tried here, so that it fails this item (the inbox worker isolates
    it) rather than the commit of its whole batch: the call's document parses (``call_from_row``
    again, memoised) and the chapter's signing key loads (cached)."""
    call_from_row(row, services)
    services.keys.ed25519_key(chapter)
    sync = session.sync_session
    if not sync.info.get(_WATCHED):
        event.listen(sync, "before_commit", _settle)
        sync.info[_WATCHED] = True
    entry = (sync.get_transaction(), services, row, chapter)
    sync.info.setdefault(_UNSETTLED, {})[row.id] = entry


def _settle(sync: Session) -> None:
    """Before the commit: each call given places in this transaction is recounted (under its
    row lock, taken by the Joins) and, when its count changed, re-signed and stored once.
    Runs in the session's own context (a sync ``Session``; under an ``AsyncSession`` in its
    greenlet), so it reads the counts with a plain sync statement."""
    unsettled: dict[int, _Unsettled] = sync.info.pop(_UNSETTLED, {})
    committing = sync.get_transaction()
    for transaction, services, row, chapter in unsettled.values():
        if transaction is not committing:
            continue  # given in a transaction rolled back since: nothing of it stands
        current = call_from_row(row, services)
        call = with_counts(current, *places_repo.accepted_counts_sync(sync, row.id))
        if (call.participant_count, call.slots) != (current.participant_count, current.slots):
            _store_counted(services, row, chapter, call)
