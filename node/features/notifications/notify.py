"""Recording a notification, in the caller's transaction, and queuing its channels.

One row per person and event (``notifications``, unique by recipient and key): an event seen
twice (a replayed activity, a sweep run again after a crash) tells nobody twice. From that row:

- a local member sees it in their list (``/me``, the API, the CLI) and, when they gave an
  address and the node has SMTP settings, gets an e-mail: a durable follow-up of kind
  ``notification_email`` (retried with backoff while the mail server is down);
- a remote person gets a direct message from the call's chapter (a delivery row, retried like
  any other), which Mastodon shows as a private mention.

Nothing is sent before the caller commits: the workers are woken now and pick the rows up
once they are visible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.names import remote_person
from node.features.notifications.kinds import Kind
from node.features.notifications.wording import describe, speech_for
from node.federation.outbox.publish import publish
from node.runtime.services import Services
from protocol.notes import build_direct_message
from protocol.timefmt import format_xsd_datetime
from storage.models import LocalActor, Notification
from storage.models.states import ActorKind, EmailState
from storage.repositories import actors as actor_repo
from storage.repositories import follow_ups as follow_up_repo
from storage.repositories import notifications as notification_repo
from storage.repositories.follow_ups import NewFollowUp
from storage.repositories.places import Organiser

#: The follow-up kind that sends one notification's e-mail (key: the notification's id).
NOTIFICATION_EMAIL: Final = "notification_email"


def email_enabled(services: Services) -> bool:
    return bool(services.settings.smtp_host)


async def notify_members(
    session: AsyncSession,
    services: Services,
    members: Sequence[Organiser],
    *,
    kind: Kind,
    key: str,
    data: Mapping[str, Any],
    call: str | None = None,
) -> None:
    """``notify`` for several local actors at once (e.g. a chapter's organisers), as read by
    ``places.organisers_to_tell``: the in-app rows in one statement. Someone who gets an
    e-mail goes through ``notify`` (its follow-up needs the row's id); non-members (chapters,
    the instance actor) are skipped, as ``notify`` skips them."""
    people = [m for m in members if m.kind == ActorKind.MEMBER]
    mail = email_enabled(services)
    rows: list[dict[str, Any]] = []
    now = services.clock.now()
    stored = dict(data)
    for member in people:
        if mail and member.email:
            await notify(
                session, services, recipient=member.ap_id, kind=kind, key=key, data=data, call=call
            )
            continue
        rows.append(
            {
                "recipient": member.ap_id,
                "kind": str(kind),
                "key": f"{kind}:{key}"[:1024],
                "call": call,
                "data": stored,
                "created_at": now,
                "member_id": member.id,
            }
        )
    await notification_repo.add_many_if_absent(session, rows)


async def notify(
    session: AsyncSession,
    services: Services,
    *,
    recipient: str,
    kind: Kind,
    key: str,
    data: Mapping[str, Any],
    call: str | None = None,
    sender: LocalActor | None = None,
    in_reply_to: str | None = None,
) -> Notification | None:
    """Tell ``recipient`` (an actor id) about an event, once per ``key`` (with the kind).

    A local member gets the in-app row (and an e-mail when they gave an address); a remote
    person gets a direct message from ``sender`` (without a sender, or for an account that is
    gone, nobody can carry it and nothing is recorded). Local chapters and the instance actor
    are not people: they are never notified. Returns the new row, or None when nothing was
    recorded (already told, or nobody to tell)."""
    values: dict[str, Any] = {
        "recipient": recipient,
        "kind": str(kind),
        "key": f"{kind}:{key}"[:1024],
        "call": call,
        "data": dict(data),
        "created_at": services.clock.now(),
    }
    member = await actor_repo.local_actor_by_ap_id(session, recipient)
    if member is not None:
        if member.kind != ActorKind.MEMBER:
            return None
        values["member_id"] = member.id
        mail = bool(member.email) and email_enabled(services)
        if mail:
            values["email_state"] = EmailState.PENDING
        row = await notification_repo.add_if_absent(session, values)
        if row is not None and mail:
            item = NewFollowUp(
                kind=NOTIFICATION_EMAIL,
                key=str(row.id),
                payload={"notification": row.id},
                host=services.settings.smtp_host,
            )
            await follow_up_repo.enqueue(session, [item], services.clock.now())
            services.wakeups.follow_ups.set()
        return row
    remote = await actor_repo.remote_actor(session, recipient)
    if sender is None or remote is None or remote.gone_at is not None:
        return None
    row = await notification_repo.add_if_absent(session, values)
    if row is None:
        return None
    message = describe(kind, data, speech_for(services))  # a remote person: the node's language
    link = call or (str(data["url"]) if data.get("url") else None)
    dm = build_direct_message(
        note_id=services.ids.activity(services.new_id()),
        activity_id=services.activity_id(),
        sender=sender.ap_id,
        recipient=recipient,
        handle=(remote_person(remote).handle or "").lstrip("@") or None,
        text=message.text,
        link=link,
        published=format_xsd_datetime(services.clock.now()),
        notice=str(kind),
        in_reply_to=in_reply_to,
    )
    await publish(session, services, sender, dm, [remote.inbox])
    row.dm_activity = str(dm["id"])
    services.wakeups.deliveries.set()
    return row
