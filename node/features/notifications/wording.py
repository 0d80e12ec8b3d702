"""The words of a notification: one subject and one sentence per kind, shared by the in-app
list, the direct message and the e-mail, so every channel says the same thing. A notification
is stored as its kind and facts, not as text, so it is worded when shown, in the language of
whoever reads it (``Speech``: the ``messages`` gettext catalogue, Babel for dates and numbers).
Times are written in the call's own zone (``protocol.localtime``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from gettext import NullTranslations
from typing import Any, Final

from babel import Locale, UnknownLocaleError
from babel.dates import format_interval, format_skeleton
from babel.numbers import format_decimal

from node.features.notifications.kinds import Kind
from node.runtime.i18n import choose_language
from node.runtime.services import Services
from protocol.events import ActionCall
from protocol.localtime import format_span, in_zone, zone_label


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str


@dataclass(frozen=True, slots=True)
class Speech:
    """The language a notification is worded in: its code (for Babel's dates and numbers) and
    its ``messages`` catalogue (``Services.catalogues``; ``speech_for`` picks one)."""

    language: str = "en"
    translations: NullTranslations = field(default_factory=NullTranslations)


ENGLISH: Final = Speech()


def speech_for(services: Services, setting: str | None = None) -> Speech:
    """The language to word a notification in for someone whose own setting is ``setting``
    (a member's ``local_actors.language``; None for a remote person): that, else the node's
    ``default_language``."""
    language = choose_language(setting, None, services.settings.default_language)
    return Speech(language, services.catalogues.translations(language, "messages"))


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


def when(data: Mapping[str, Any], language: str = "en") -> str:
    """The call's time as the notification recorded it, in the call's zone, written for
    ``language`` (``local_span``)."""
    try:
        start = datetime.fromisoformat(str(data["start"]))
        end = datetime.fromisoformat(str(data["end"]))
    except (KeyError, ValueError):
        return ""
    zone = data.get("timezone")
    return local_span(start, end, zone if isinstance(zone, str) else None, language)


def local_span(start: datetime, end: datetime, zone: str | None, language: str) -> str:
    """A call's time in its own zone, as ``language`` writes dates (Babel's CLDR patterns):
    ``lun. 12 avr. 2027, 10:00 to 12:30 (Europe/Paris)`` (with the locale's dash). English
    keeps the form every channel has always used (``protocol.localtime.format_span``), which
    scripts and tests read."""
    if language == "en":
        return format_span(start, end, zone)
    first, last = in_zone(start, zone), in_zone(end, zone)
    try:
        locale = Locale.parse(language)
    except (ValueError, UnknownLocaleError):
        return format_span(start, end, zone)
    joined = str(locale.datetime_formats["medium"])  # "{1}, {0}": the date, then the time

    def moment(value: datetime) -> str:
        day = format_skeleton("yMMMEd", value, locale=locale)
        return joined.format(format_skeleton("Hm", value, locale=locale), day)

    if first.date() == last.date():
        hours = format_interval(first, last, "Hm", tzinfo=first.tzinfo, locale=locale)
        span = joined.format(hours, format_skeleton("yMMMEd", first, locale=locale))
    else:
        span = f"{moment(first)} – {moment(last)}"
    return f"{span} ({zone_label(start, zone)})"


def _soon(minutes: int, speech: Speech) -> str:
    """``in 2 hours`` (the counts in the locale's digits), or ``soon``."""
    ngettext = speech.translations.ngettext
    if not minutes:
        return speech.translations.gettext("soon")
    if minutes % 1440 == 0:
        n = minutes // 1440
        text = ngettext("in {count} day", "in {count} days", n)
    elif minutes % 60 == 0:
        n = minutes // 60
        text = ngettext("in {count} hour", "in {count} hours", n)
    else:
        n = minutes
        text = ngettext("in {count} minute", "in {count} minutes", n)
    return text.format(count=format_decimal(n, locale=speech.language))


def describe(kind: str, data: Mapping[str, Any], speech: Speech = ENGLISH) -> Message:
    """Subject and sentence for a notification of ``kind`` recorded with ``data``, in
    ``speech``'s language (the ``messages`` catalogue)."""
    _ = speech.translations.gettext
    title = str(data.get("title") or _("an action call"))
    at = when(data, speech.language)
    where = _(" at {place}").format(place=data["place"]) if data.get("place") else ""
    reason = _(" Reason: {reason}.").format(reason=data["reason"]) if data.get("reason") else ""
    slot = f" ({data['slot']})" if data.get("slot") else ""
    who = str(data.get("who") or _("Someone"))
    facts = {"title": title, "at": at, "where": where, "reason": reason, "slot": slot, "who": who}
    if kind == Kind.ACCEPTED:
        return Message(
            _("You're going: {title}").format(**facts),
            _("Your place{slot} at {title} is confirmed: {at}{where}.").format(**facts),
        )
    if kind == Kind.WAITLISTED:
        position = data.get("position")
        if isinstance(position, int):
            position = format_decimal(position, locale=speech.language)
        place = (
            _(" You are number {position} on the waiting list.").format(position=position)
            if position
            else ""
        )
        return Message(
            _("Waiting list: {title}").format(**facts),
            _(
                "{title} is full, so you are on its waiting list{slot}.{place} "
                "You will be told at once if a place frees."
            ).format(place=place, **facts),
        )
    if kind == Kind.PROMOTED:
        return Message(
            _("A place freed up: {title}").format(**facts),
            _("A place{slot} freed up at {title} and it is yours: {at}{where}.").format(**facts),
        )
    if kind == Kind.REJECTED:
        return Message(
            _("Not admitted: {title}").format(**facts),
            _("Your RSVP to {title} was declined.{reason}").format(**facts),
        )
    if kind == Kind.REMOVED:
        return Message(
            _("Removed: {title}").format(**facts),
            _("The organisers removed you from {title}.{reason}").format(**facts),
        )
    if kind == Kind.CHANGED:
        return Message(
            _("Changed: {title}").format(**facts),
            _("{title} has changed. It is now {at}{where}.").format(**facts),
        )
    if kind == Kind.CANCELLED:
        return Message(
            _("Cancelled: {title}").format(**facts),
            _("{title} ({at}) is cancelled.{reason}").format(**facts),
        )
    if kind == Kind.RESTORED:
        return Message(
            _("Back on: {title}").format(**facts),
            _("{title} is on again: {at}{where}.").format(**facts),
        )
    if kind == Kind.REMINDER:
        soon = _soon(int(data.get("offset_minutes") or 0), speech)
        return Message(
            _("Reminder: {title} {soon}").format(soon=soon, **facts),
            _("{title} starts {soon}: {at}{where}.").format(soon=soon, **facts),
        )
    if kind == Kind.NEW_PARTICIPANT:
        return Message(
            _("New participant: {title}").format(**facts),
            _("{who} is coming to {title}{slot}.").format(**facts),
        )
    if kind == Kind.FOLLOWER_WAITING:
        chapter = str(data.get("chapter") or _("your chapter"))
        return Message(
            _("Follower waiting: {chapter}").format(chapter=chapter),
            _("{who} asked to follow {chapter} and is waiting for your approval.").format(
                chapter=chapter, **facts
            ),
        )
    if kind == Kind.REPORT_DUE:
        return Message(
            _("Report due: {title}").format(**facts),
            _(
                "{title} ended a day ago ({at}) and has no impact report yet. "
                "Tell the movement what it achieved."
            ).format(**facts),
        )
    if kind == Kind.VOTE_COUNTED:
        return Message(_("Vote counted: {title}").format(**facts), _vote_text(data, facts, speech))
    if kind == "chapter_moved" and data.get("old") and data.get("new"):
        return Message(
            _("A chapter you follow moved"),
            _("{old} moved to {new}; you now follow it there.").format(
                old=data["old"], new=data["new"]
            ),
        )
    return Message(title, str(data.get("text") or title))


def _vote_text(data: Mapping[str, Any], facts: Mapping[str, str], speech: Speech) -> str:
    """A declined vote's answer (``node.features.calls.votes``), in the reader's language; a
    notification stored before votes recorded ``declined`` keeps its stored words."""
    _ = speech.translations.gettext
    declined = data.get("declined")
    if declined in {"noted", "gave_up"}:
        text = _("Thanks, noted that you can't make it to {title}.").format(**facts)
        if declined == "gave_up":
            text += " " + _("Your place is given back, for someone else to take.")
        return text
    return str(data.get("text") or _("Thanks, your vote on {title} is counted.").format(**facts))
