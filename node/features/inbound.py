"""What the domain requires of an inbound activity before the inbox stores it.

The federation pipeline authenticates and checks origins; these rules know what calls and
reports are: only a call's or a report's own chapter may change it, a report must hold valid
numbers, and an object carrying a proof must carry its owner's. The inbox route passes
``INBOUND_CHECKS`` to the pipeline.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from node.federation.inbox.acceptance import InboundCheck
from node.federation.proofs import check_object_proof
from node.runtime.errors import HttpError
from node.runtime.services import Services
from protocol.activities import Activity
from protocol.errors import N_, ProofError, ProtocolError
from protocol.impact import is_report, parse_report
from protocol.jsonld import id_of
from storage.loop_reads import read_now
from storage.models import ActionCall, ImpactReport
from storage.repositories import actions as action_repo
from storage.repositories import impact as impact_repo


class InboundRefused(HttpError):
    """An inbound activity the domain refuses, with the status the sender is answered with.
    Raised as ``InboundRefused(403, N_("{actor} does not own {target}"), actor=..., target=...)``:
    the detail is the English (the sender reads it in problem+json), and ``wording``/``params``
    let an interface say it in its reader's language, as ``protocol.errors.WordedError`` does."""

    def __init__(self, status: int, wording: str, /, **params: object) -> None:
        super().__init__(status, wording.format(**params) if params else wording)
        self.wording = wording
        self.params = MappingProxyType(params)


async def check_ownership(services: Services, activity: Activity) -> None:
    """Update and Delete need ownership of the stored target, not just the same origin."""
    if activity.type not in {"Update", "Delete"} or activity.object_id is None:
        return
    object_id = activity.object_id

    async def read(session: AsyncSession) -> tuple[ActionCall | None, ImpactReport | None]:
        call = await action_repo.call_by_ap_id(session, object_id)
        return call, await impact_repo.report(session, object_id)

    call, report = await read_now(services.db, read)
    owner = call.chapter if call is not None else report.chapter if report is not None else None
    if owner is not None and owner != activity.actor:
        raise InboundRefused(
            403, N_("{actor} does not own {target}"), actor=activity.actor, target=object_id
        )


async def check_object(services: Services, activity: Activity) -> None:
    """Reports must hold valid numbers; any object with a proof must carry its owner's."""
    if activity.type not in {"Create", "Update"} or activity.object is None:
        return
    obj = activity.object
    if is_report(obj):
        try:
            report = parse_report(obj, allow_http=services.settings.allow_http)
        except ProtocolError as exc:
            raise InboundRefused(
                422, N_("invalid impact report: {reason}"), reason=str(exc)
            ) from exc
        await check_started(services, report.call)
    if "proof" in obj:
        try:
            await check_object_proof(
                services, obj, id_of(obj.get("attributedTo")) or activity.actor
            )
        except ProofError as exc:
            raise InboundRefused(
                403, N_("the object's proof does not verify: {reason}"), reason=str(exc)
            ) from exc


async def check_started(services: Services, call_id: str) -> None:
    """Impact is reported once a call has started (while it runs, or after): a report on a call
    we know has not started is refused with a reason the sender can read."""
    start = await read_now(services.db, lambda s: action_repo.call_start(s, call_id))
    if start is not None and start > services.clock.now():
        raise InboundRefused(
            422,
            N_("the call {call} starts {start}: report once it has"),
            call=call_id,
            start=start.isoformat(),
        )


INBOUND_CHECKS: Final[tuple[InboundCheck, ...]] = (check_ownership, check_object)
