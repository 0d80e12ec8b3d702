"""Direct messages that carry an answer: a chapter elsewhere tells our member, by a
``Create{Note}`` with ``chapterhouse:notice`` (FEDERATION.md), what it has no activity for.

Only ``rsvp_waitlisted`` changes anything here: the member's Join stays unanswered while they
wait, so the message is the only sign that the call was full. Every other notice is for
people whose software shows nothing else (the ``Accept``, ``Reject`` or ``Update`` that
came with it already told our members), and is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from node.features.calls.answers import waitlisted_by_notice
from node.features.notifications.kinds import Kind
from node.interfaces.activitypub.handlers.context import HandlerContext
from protocol.activities import Activity
from protocol.jsonld import as_list, id_of
from protocol.notes import NOTICE
from protocol.vocabulary import has_type


def is_notice(obj: Mapping[str, object] | None) -> bool:
    """A Note carrying one of our notices (a direct message from a Chapterhouse chapter)."""
    return obj is not None and has_type(obj, "Note") and isinstance(obj.get(NOTICE), str)


async def handle_notice(ctx: HandlerContext, activity: Activity) -> None:
    obj = activity.object
    if obj is None or obj.get(NOTICE) != Kind.WAITLISTED:
        return
    call = id_of(obj.get("context")) or id_of(obj.get("url"))
    if call is None:
        return
    recipients = [r for r in (id_of(v) for v in as_list(obj.get("to"))) if r]
    await waitlisted_by_notice(
        ctx.session,
        ctx.services,
        sender=activity.actor,
        call=call,
        recipients=recipients,
        key=id_of(obj) or activity.id,
    )
