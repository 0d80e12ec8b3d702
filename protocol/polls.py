"""A call's RSVP poll: a ``Question`` Mastodon and most fediverse apps show natively, and the
votes they send back.

Mastodon cannot send ``Join``, but it can answer a poll. The chapter publishes one per call,
"Coming to <title> on <date>?", with two options ("Going", "Can't make it") and an
``endTime`` at the call's start. A vote arrives as Mastodon's own vote shape: a
``Create{Note}`` whose Note has ``name`` = the option, ``inReplyTo`` = the poll and
``attributedTo`` = the voter, and no content. The Note is addressed to the chapter only.

The tallies (``replies.totalItems`` per option) are not votes counted here: "Going" is the
call's accepted participants (whoever joined, by ``Join`` or by vote), "Can't make it" the
voters who said so and hold no place. ``votersCount`` is their sum, so Mastodon's percentages
add up. Tallies change without an edit, so the Question carries no ``updated``: Mastodon then
takes an ``Update{Question}`` as fresh counts, not as an edit of the post.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Final

from protocol.errors import MalformedDocument
from protocol.events import ActionCall
from protocol.ids import parse_id
from protocol.jsonld import CONTEXT, PUBLIC, id_of
from protocol.localtime import format_span, in_zone
from protocol.timefmt import format_xsd_datetime
from protocol.vocabulary import has_type

GOING: Final = "Going"
CANT: Final = "Can't make it"
#: The options, in the order the poll shows them.
OPTIONS: Final = (GOING, CANT)
#: The path segment between a call's id and its poll's ULID: ``{call}/polls/{ULID}``.
POLLS_SEGMENT: Final = "/polls/"
#: ``votersCount`` is Mastodon's term; the served Question defines it.
QUESTION_CONTEXT: Final[list[object]] = [*CONTEXT, {"votersCount": "toot:votersCount"}]
MAX_OPTION: Final = 200


def poll_id(call_id: str, ulid: str) -> str:
    """The id of a call's poll; the ULID says when it was published."""
    return f"{call_id}{POLLS_SEGMENT}{ulid}"


def call_of_poll(poll: str) -> tuple[str, str] | None:
    """(call id, ULID) of a poll id made by :func:`poll_id`, or None for any other id."""
    call_id, sep, ulid = poll.rpartition(POLLS_SEGMENT)
    if not sep or not call_id or not ulid or "/" in ulid:
        return None
    return call_id, ulid


def question_text(call: ActionCall) -> str:
    """``Coming to Canal clean-up on Mon 12 Apr 2027?`` (the date in the call's zone)."""
    day = in_zone(call.start, call.timezone).strftime("%a %d %b %Y")
    return f"Coming to {call.title} on {day}?"


def is_closed(call: ActionCall, now: datetime) -> bool:
    """A poll closes when its call starts: after that, a vote is no RSVP."""
    return now >= call.start


@dataclass(frozen=True, slots=True)
class Tally:
    """The poll's counts: places held ("Going") and voters who said no ("Can't make it")."""

    going: int
    cant: int

    @property
    def voters(self) -> int:
        return self.going + self.cant


def _option(name: str, count: int) -> dict[str, object]:
    return {"type": "Note", "name": name, "replies": {"type": "Collection", "totalItems": count}}


def build_question(
    *,
    poll: str,
    call: ActionCall,
    published: datetime,
    tally: Tally,
    now: datetime,
    followers: str | None,
) -> dict[str, object]:
    """The poll as a ``Question`` from the call's chapter, public, to its followers too."""
    link = call.url or call.id
    question = question_text(call)
    href = escape(link, quote=True)
    when = format_span(call.start, call.end, call.timezone)
    doc: dict[str, object] = {
        "@context": QUESTION_CONTEXT,
        "id": poll,
        "type": "Question",
        "attributedTo": call.chapter,
        "name": question,
        "content": (
            f'<p>{escape(question)}</p><p>{escape(when)}: <a href="{href}">{escape(link)}</a></p>'
        ),
        "published": format_xsd_datetime(published),
        "url": link,
        "context": call.id,
        "to": [PUBLIC],
        "cc": [followers] if followers else [],
        "oneOf": [_option(GOING, tally.going), _option(CANT, tally.cant)],
        "endTime": format_xsd_datetime(call.start),
        "votersCount": tally.voters,
    }
    if is_closed(call, now):
        doc["closed"] = format_xsd_datetime(call.start)
    return doc


@dataclass(frozen=True, slots=True)
class Vote:
    """One vote: ``voter`` chose ``choice`` on ``poll`` (the Note ``note_id`` says so)."""

    note_id: str
    voter: str
    poll: str
    choice: str


def looks_like_vote(obj: Mapping[str, object] | None) -> bool:
    """A Note that names something and answers something: what a poll vote looks like (an
    ordinary reply carries no ``name``). Whether it is a vote on one of our polls is for
    :func:`parse_vote` and the caller to decide."""
    return (
        obj is not None
        and has_type(obj, "Note")
        and isinstance(obj.get("name"), str)
        and obj.get("inReplyTo") is not None
    )


def parse_vote(obj: Mapping[str, object], *, actor: str, allow_http: bool = False) -> Vote:
    """The vote in Mastodon's shape, sent by ``actor``; ``MalformedDocument`` when it is not
    one, names no option of ours, or is credited to anyone but the sender."""
    if not has_type(obj, "Note"):
        raise MalformedDocument("a vote is a Note")
    ident = id_of(obj)
    if ident is None:
        raise MalformedDocument("the vote has no id")
    note_id = parse_id(ident, allow_http=allow_http)
    attributed = id_of(obj.get("attributedTo"))
    if attributed is None or attributed != actor:
        raise MalformedDocument(f"the vote is credited to {attributed!r:.200}, not to {actor}")
    target = id_of(obj.get("inReplyTo"))
    if target is None:
        raise MalformedDocument("the vote answers no poll (inReplyTo)")
    poll = parse_id(target, allow_http=allow_http)
    name = obj.get("name")
    if not isinstance(name, str) or name.strip() not in OPTIONS:
        raise MalformedDocument(
            f"{name!r:.{MAX_OPTION}} is not an option of the poll ({' or '.join(OPTIONS)})"
        )
    return Vote(note_id=note_id, voter=actor, poll=poll, choice=name.strip())


def build_vote(
    *, note_id: str, activity_id: str, voter: str, poll: str, owner: str, choice: str
) -> dict[str, object]:
    """A vote in Mastodon's own shape: a ``Create{Note}`` whose Note names the option and
    answers the poll, addressed to the poll's author only (so it shows on no timeline)."""
    note: dict[str, object] = {
        "id": note_id,
        "type": "Note",
        "name": choice,
        "attributedTo": voter,
        "to": [owner],
        "inReplyTo": poll,
    }
    return {
        "@context": CONTEXT,
        "id": activity_id,
        "type": "Create",
        "actor": voter,
        "to": [owner],
        "object": note,
    }


def poll_options(doc: Mapping[str, object]) -> tuple[str, ...]:
    """The option names of a fetched ``Question`` (``oneOf``, else ``anyOf``)."""
    names: list[str] = []
    for key in ("oneOf", "anyOf"):
        value = doc.get(key)
        if isinstance(value, list):
            names += [
                o["name"]
                for o in value
                if isinstance(o, Mapping) and isinstance(o.get("name"), str)
            ]
        if names:
            break
    return tuple(names)
