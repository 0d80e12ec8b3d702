"""Direct messages that carry an answer: a chapter elsewhere tells our member, by a
``Create{Note}`` with ``chapterhouse:notice`` (FEDERATION.md), what it has no activity for.

Only answers to an RSVP change anything here (``answers.NOTICE_ANSWERS``): a member's Join
stays unanswered while they wait, so ``rsvp_waitlisted`` is the only sign that the call was
full; a member's poll vote is answered by notices alone (``rsvp_accepted``, ``rsvp_rejected``
...), as Mastodon users' votes are. Every other notice (reminders, changes) is for people
whose software shows nothing else: our node tells its members itself, so it is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from node.features.calls.answers import NOTICE_ANSWERS, answered_by_notice
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
    kind = obj.get(NOTICE) if obj is not None else None
    if obj is None or not isinstance(kind, str) or kind not in NOTICE_ANSWERS:
        return
    call = id_of(obj.get("context")) or id_of(obj.get("url"))
    if call is None:
        return
    recipients = [r for r in (id_of(v) for v in as_list(obj.get("to"))) if r]
    await answered_by_notice(
        ctx.session,
        ctx.services,
        kind=kind,
        sender=activity.actor,
        call=call,
        recipients=recipients,
        key=id_of(obj) or activity.id,
    )
