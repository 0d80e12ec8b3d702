"""A member's commitments as they see them: each answer, with the call as our copy has it now.

The stored state is the chapter's answer (or the member's own withdrawal); what the member
sees also depends on the call: while it is cancelled, a commitment that was pending, accepted
or waitlisted shows ``cancelled`` (``storage.models.states.shown_state``), and it shows its
answer again once the call is restored. Title, time and place come from our copy of the call,
which its chapter's Updates keep current (``handlers/event.py``), so a moved call shows its
new time here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from node.features.calls.lifecycle import cancellation_reason
from node.runtime.services import Services
from protocol.errors import ProtocolError
from protocol.events import ActionCall, parse_event, summary_line
from storage.models import Commitment
from storage.models.states import CommitmentState, shown_state
from storage.repositories import actions as action_repo


@dataclass(frozen=True, slots=True)
class CommitmentView:
    """One commitment: ``state`` as the member sees it, ``event`` our copy of the call."""

    call: str
    chapter: str
    state: str
    stored_state: str
    reason: str | None
    event: ActionCall | None
    created_at: datetime
    updated_at: datetime

    @property
    def title(self) -> str | None:
        return self.event.title if self.event else None

    @property
    def start(self) -> datetime | None:
        return self.event.start if self.event else None

    @property
    def summary(self) -> str | None:
        """When · where · goal, as the call's page and other servers show it."""
        return summary_line(self.event) if self.event else None


def _view(row: Commitment, document: object, allow_http: bool) -> CommitmentView:
    event = None
    if document is not None:
        try:
            event = parse_event(document, allow_http=allow_http)
        except ProtocolError:
            event = None  # an unreadable copy: the commitment still shows, without details
    state = shown_state(row.state, event is not None and event.cancelled)
    reason = row.reason
    if state == CommitmentState.CANCELLED and isinstance(document, dict):
        reason = cancellation_reason(document)
    return CommitmentView(
        call=row.call,
        chapter=row.chapter,
        state=state,
        stored_state=row.state,
        reason=reason,
        event=event,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def commitment_views(services: Services, member_id: int) -> list[CommitmentView]:
    """A member's commitments, newest first, each with our current copy of its call."""
    async with services.db.read() as session:
        rows = await action_repo.commitments_of(session, member_id)
        documents = await action_repo.documents_by_ap_id(session, [r.call for r in rows])
    allow_http = services.settings.allow_http
    return [_view(r, documents.get(r.call), allow_http) for r in rows]
