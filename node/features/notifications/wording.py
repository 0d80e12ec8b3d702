"""The words of a notification: one subject and one sentence per kind, shared by the in-app
list, the direct message and the e-mail, so every channel says the same thing. Times are
written in the call's own zone (``protocol.localtime``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from node.features.notifications.kinds import Kind
from protocol.events import ActionCall
from protocol.localtime import format_span
from protocol.wording import plural


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str


def call_facts(call: ActionCall, chapter_name: str | None = None) -> dict[str, Any]:
    """What a notification keeps of a call, as it was when the notification was made."""
    facts: dict[str, Any] = {
        "title": call.title,
        "url": call.url or call.id,
        "start": call.start.isoformat(),
        "end": call.end.isoformat(),
        "timezone": call.timezone,
    }
    if call.place is not None:
        facts["place"] = call.place.name + (f", {call.place.address}" if call.place.address else "")
    elif call.online_url:
        facts["place"] = call.online_url
    if chapter_name:
        facts["chapter"] = chapter_name
    return facts


def when(data: Mapping[str, Any]) -> str:
    """The call's time as the notification recorded it, in the call's zone."""
    try:
        start = datetime.fromisoformat(str(data["start"]))
        end = datetime.fromisoformat(str(data["end"]))
    except (KeyError, ValueError):
        return ""
    zone = data.get("timezone")
    return format_span(start, end, zone if isinstance(zone, str) else None)


def _minutes(total: int) -> str:
    if total % 1440 == 0:
        return plural(total // 1440, "day")
    if total % 60 == 0:
        return plural(total // 60, "hour")
    return plural(total, "minute")


def describe(kind: str, data: Mapping[str, Any]) -> Message:
    """Subject and sentence for a notification of ``kind`` recorded with ``data``."""
    title = str(data.get("title") or "an action call")
    at = when(data)
    where = f" at {data['place']}" if data.get("place") else ""
    reason = f" Reason: {data['reason']}." if data.get("reason") else ""
    slot = f" ({data['slot']})" if data.get("slot") else ""
    who = str(data.get("who") or "Someone")
    if kind == Kind.ACCEPTED:
        return Message(
            f"You're going: {title}", f"Your place{slot} at {title} is confirmed: {at}{where}."
        )
    if kind == Kind.WAITLISTED:
        position = data.get("position")
        place = f" You are number {position} on the waiting list." if position else ""
        return Message(
            f"Waiting list: {title}",
            f"{title} is full, so you are on its waiting list{slot}.{place} "
            "You will be told at once if a place frees.",
        )
    if kind == Kind.PROMOTED:
        return Message(
            f"A place freed up: {title}",
            f"A place{slot} freed up at {title} and it is yours: {at}{where}.",
        )
    if kind == Kind.REJECTED:
        return Message(f"Not admitted: {title}", f"Your RSVP to {title} was declined.{reason}")
    if kind == Kind.REMOVED:
        return Message(f"Removed: {title}", f"The organisers removed you from {title}.{reason}")
    if kind == Kind.CHANGED:
        return Message(f"Changed: {title}", f"{title} has changed. It is now {at}{where}.")
    if kind == Kind.CANCELLED:
        return Message(f"Cancelled: {title}", f"{title} ({at}) is cancelled.{reason}")
    if kind == Kind.RESTORED:
        return Message(f"Back on: {title}", f"{title} is on again: {at}{where}.")
    if kind == Kind.REMINDER:
        offset = int(data.get("offset_minutes") or 0)
        soon = f"in {_minutes(offset)}" if offset else "soon"
        return Message(f"Reminder: {title} {soon}", f"{title} starts {soon}: {at}{where}.")
    if kind == Kind.NEW_PARTICIPANT:
        return Message(f"New participant: {title}", f"{who} is coming to {title}{slot}.")
    if kind == Kind.FOLLOWER_WAITING:
        chapter = str(data.get("chapter") or "your chapter")
        return Message(
            f"Follower waiting: {chapter}",
            f"{who} asked to follow {chapter} and is waiting for your approval.",
        )
    if kind == Kind.REPORT_DUE:
        return Message(
            f"Report due: {title}",
            f"{title} ended a day ago ({at}) and has no impact report yet. "
            "Tell the movement what it achieved.",
        )
    if kind == Kind.VOTE_COUNTED:
        return Message(
            f"Vote counted: {title}",
            str(data.get("text") or f"Thanks, your vote on {title} is counted."),
        )
    return Message(title, str(data.get("text") or title))
