"""A member's notifications as every in-app channel shows them (/me, the header's count, the
API, the CLI): newest first, each in the words ``describe`` gives it, with a link to its call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from node.features.notifications.wording import ENGLISH, Speech, describe
from node.runtime.services import Services
from protocol.timefmt import format_xsd_datetime
from storage.models import Notification
from storage.repositories import notifications as notification_repo

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200
MAX_IDS: Final = 500  # notifications marked read by id in one request


@dataclass(frozen=True, slots=True)
class Shown:
    id: int
    kind: str
    subject: str
    text: str
    call: str | None  # the call's id
    link: str | None  # where to read about it (the call's page), http(s) only
    created_at: datetime
    read: bool


def web_link(value: object) -> str | None:
    """``value`` when it is an http(s) URL a page or an e-mail may link to, else None (a
    ``javascript:`` URL from a remote document is never a link)."""
    if isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) < 2048:
        return value
    return None


def shown(row: Notification, speech: Speech = ENGLISH) -> Shown:
    """``row`` as its reader sees it, worded in ``speech``'s language (``wording.speech_for``:
    the member's own setting, else the node's default)."""
    data = row.data if isinstance(row.data, dict) else {}
    message = describe(row.kind, data, speech)
    return Shown(
        id=row.id,
        kind=row.kind,
        subject=message.subject,
        text=message.text,
        call=row.call,
        link=web_link(data.get("url")) or web_link(row.call),
        created_at=row.created_at,
        read=row.read_at is not None,
    )


def notification_json(item: Shown) -> dict[str, Any]:
    """The API's and the CLI's form of one notification."""
    return {
        "id": item.id,
        "kind": item.kind,
        "subject": item.subject,
        "text": item.text,
        "call": item.call,
        "url": item.link,
        "createdAt": format_xsd_datetime(item.created_at),
        "read": item.read,
    }


async def notifications_of(
    services: Services,
    member_id: int,
    *,
    unread_only: bool = False,
    limit: int = DEFAULT_LIMIT,
    speech: Speech = ENGLISH,
) -> list[Shown]:
    async with services.db.read() as session:
        rows = await notification_repo.of_member(
            session, member_id, unread_only=unread_only, limit=max(1, min(limit, MAX_LIMIT))
        )
    return [shown(row, speech) for row in rows]


async def unread_count(services: Services, member_id: int) -> int:
    """How many of the member's notifications are unread (one COUNT on an index)."""
    async with services.db.read() as session:
        return await notification_repo.unread_count(session, member_id)


async def mark_read(services: Services, member_id: int, ids: Sequence[int] | None) -> int:
    """Mark the member's own notifications read (``ids``, or all); others' ids change nothing."""
    async with services.db.write() as session:
        return await notification_repo.mark_read(session, member_id, ids, services.clock.now())
