"""Adopted calls follow their campaign's call: applying ``state``'s decisions to stored calls.

Two ways in. A campaign on another node: its call's Update reaches the chapter's node (the
chapter follows the campaign), and the inbox handler calls ``follow_campaign_call`` in the
same unit of work that stores the new copy. A campaign on this node: ``lifecycle`` records an
``adopted_calls_follow`` follow-up with the Update, and ``follow_adopted`` runs it after the
commit. Either way each adopted call takes the fields its chapter left alone and is sent again
(an Update to its followers and participants); a field both changed waits for the organisers'
choice (``settle_conflict``), shown on the call's page.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.authz import NotFoundError, Principal, require_organiser
from node.features.calls.adoption.state import (
    LABELS,
    Choice,
    Merge,
    conflicts_of,
    merge,
    settle,
    values_of,
)
from node.features.calls.input import FieldError
from node.features.calls.lifecycle import call_from_row, publish_update
from node.runtime.services import Services
from protocol.errors import N_
from protocol.events import ActionCall
from protocol.localtime import format_span
from storage.models import ActionCall as CallRow
from storage.models import LocalActor
from storage.repositories import actions as action_repo

log = logging.getLogger(__name__)


def _applied(call: ActionCall, values: Mapping[str, Any]) -> ActionCall:
    """``call`` with the followed fields in ``values`` (as ``state.values_of`` writes them)."""
    changes: dict[str, Any] = {}
    if "title" in values:
        changes["title"] = str(values["title"])
    if "description" in values:
        changes["content"] = str(values["description"])
    time = values.get("time")
    if isinstance(time, Mapping):
        start = datetime.fromisoformat(str(time["start"]))
        end = datetime.fromisoformat(str(time["end"]))
        if end > start:  # a campaign's zero-length call cannot be ours (check_times)
            changes["start"], changes["end"] = start, end
    return dataclasses.replace(call, **changes)


async def _take(
    session: AsyncSession, services: Services, row: CallRow, call: ActionCall, result: Merge
) -> bool:
    """Store ``result``'s state; send the call again if it takes new values. True if sent."""
    if row.adoption != result.state:
        row.adoption = result.state
    if not result.apply:
        return False
    chapter = await session.get(LocalActor, row.local_actor_id)
    assert chapter is not None
    await publish_update(session, services, row, chapter, _applied(call, result.apply))
    return True


async def follow_campaign_call(
    session: AsyncSession, services: Services, source: CallRow
) -> list[CallRow]:
    """The campaign's call ``source`` (our copy, or our own call) has changed: every call
    adopted from it here takes what its chapter left alone. Returns the calls sent again
    (the caller wakes the delivery worker after the commit)."""
    upstream = values_of(call_from_row(source, services))
    sent: list[CallRow] = []
    for row in await action_repo.adoptions_of_call(session, source.ap_id):
        if row.id == source.id:
            continue
        call = call_from_row(row, services)
        if call.cancelled:
            continue  # a cancelled call is not edited; restoring it does not catch up either
        result = merge(row.adoption, values_of(call), upstream)
        if result.new_conflicts:
            log.info(
                "adoption.conflict",
                extra={"call": row.ap_id, "fields": ",".join(result.new_conflicts)},
            )
        if await _take(session, services, row, call, result):
            sent.append(row)
    return sent


async def follow_adopted(services: Services, payload: Mapping[str, Any]) -> None:
    """The ``adopted_calls_follow`` follow-up: a campaign call of this node changed."""
    async with services.db.write() as session:
        source = await action_repo.call_by_ap_id(session, str(payload.get("call", "")))
        if source is None:
            return
        sent = await follow_campaign_call(session, services, source)
    if sent:
        services.wakeups.deliveries.set()


async def settle_conflict(
    services: Services, who: Principal, call_id: str, field: str, choice: str
) -> CallRow:
    """The organisers' choice on one field in conflict: ``ours`` keeps the chapter's value,
    ``theirs`` takes the campaign's (and tells followers and participants)."""
    if choice not in ("ours", "theirs"):
        raise FieldError("choice", N_("must be ours or theirs"))
    picked: Choice = "ours" if choice == "ours" else "theirs"
    async with services.db.write() as session:
        row = await action_repo.call_by_ap_id(session, call_id, for_update=True)
        if row is None or row.local_actor_id is None:
            raise NotFoundError(N_("no action call {id} on this node"), id=call_id)
        chapter = await session.get(LocalActor, row.local_actor_id)
        assert chapter is not None
        await require_organiser(session, who, chapter)
        call = call_from_row(row, services)
        if call.cancelled:
            raise FieldError("status", N_("a cancelled call cannot be edited"))
        try:
            result = settle(row.adoption, values_of(call), field, picked)
        except KeyError:
            raise FieldError("field", N_("{name!r} is not in conflict"), name=field) from None
        sent = await _take(session, services, row, call, result)
    if sent:
        services.wakeups.deliveries.set()
    return row


@dataclass(frozen=True, slots=True)
class Conflict:
    """One field both the chapter and the campaign changed, as the call's page shows it."""

    field: str
    label: str
    ours: str
    theirs: str


def _shown(call: ActionCall, name: str, value: Any) -> str:
    """A followed field's value as plain text (times in the call's zone, no markup)."""
    if name == "time":
        if not isinstance(value, Mapping):
            return ""
        start = datetime.fromisoformat(str(value.get("start")))
        end = datetime.fromisoformat(str(value.get("end")))
        return format_span(start, end, call.timezone)
    import nh3  # loaded with the first description to show, like input.sanitize_html

    return " ".join(nh3.clean(str(value), tags=set()).split())


def conflicts(row: CallRow, services: Services) -> list[Conflict]:
    """The fields of an adopted call waiting for its organisers' choice (none for others)."""
    waiting = conflicts_of(row.adoption)
    if not waiting:
        return []
    call = call_from_row(row, services)
    ours = values_of(call)
    return [
        Conflict(name, LABELS[name], _shown(call, name, ours[name]), _shown(call, name, theirs))
        for name, theirs in waiting.items()
    ]
