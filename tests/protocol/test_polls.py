"""The RSVP poll's Question and Mastodon's vote shape (protocol/polls.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from protocol.errors import MalformedDocument
from protocol.events import ActionCall
from protocol.ids import make_ulid, ulid_time
from protocol.jsonld import PUBLIC
from protocol.polls import (
    CANT,
    GOING,
    Tally,
    build_question,
    call_of_poll,
    looks_like_vote,
    parse_vote,
    poll_id,
)

CALL_ID = "https://here.example/actors/greenpark/actions/01J00000000000000000000000"
CHAPTER = "https://here.example/actors/greenpark"
START = datetime(2027, 4, 12, 9, 0, tzinfo=UTC)  # 10:00 in London (BST)
POLL = poll_id(CALL_ID, "01J00000000000000000000001")
VOTER = "https://social.example/users/alice"


def _call(**changes: object) -> ActionCall:
    values: dict[str, object] = {
        "id": CALL_ID,
        "chapter": CHAPTER,
        "title": "Canal <clean-up>",
        "start": START,
        "end": START + timedelta(hours=3),
        "published": START - timedelta(days=10),
        "timezone": "Europe/London",
        "url": CALL_ID,
    }
    values.update(changes)
    return ActionCall(**values)  # type: ignore[arg-type]


def _question(now: datetime) -> dict[str, object]:
    return build_question(
        poll=POLL,
        call=_call(),
        published=START - timedelta(days=1),
        tally=Tally(3, 2),
        now=now,
        followers=f"{CHAPTER}/followers",
    )


def test_question_in_mastodons_poll_shape():
    doc = _question(START - timedelta(days=1))
    assert doc["type"] == "Question"
    assert doc["id"] == POLL
    assert doc["attributedTo"] == CHAPTER
    assert doc["name"] == "Coming to Canal <clean-up> on Mon 12 Apr 2027?"
    assert doc["oneOf"] == [
        {"type": "Note", "name": GOING, "replies": {"type": "Collection", "totalItems": 3}},
        {"type": "Note", "name": CANT, "replies": {"type": "Collection", "totalItems": 2}},
    ]
    assert doc["endTime"] == "2027-04-12T09:00:00Z"
    assert "closed" not in doc
    assert doc["votersCount"] == 5
    assert doc["to"] == [PUBLIC] and doc["cc"] == [f"{CHAPTER}/followers"]
    assert doc["url"] == CALL_ID and doc["context"] == CALL_ID
    content = str(doc["content"])
    assert "Canal &lt;clean-up&gt;" in content  # the title is text, not markup
    assert f'<a href="{CALL_ID}">' in content
    assert "updated" not in doc  # counts change without an edit (Mastodon: no edit history)


def test_question_is_closed_once_the_call_starts():
    assert "closed" not in _question(START - timedelta(seconds=1))
    assert _question(START)["closed"] == "2027-04-12T09:00:00Z"


def test_poll_ids_name_their_call_and_their_time():
    minted = datetime(2027, 3, 1, 12, 30, 5, 250000, tzinfo=UTC)
    ulid = make_ulid(minted, bytes(10))
    assert ulid_time(ulid) == minted
    assert call_of_poll(poll_id(CALL_ID, ulid)) == (CALL_ID, ulid)
    assert call_of_poll(CALL_ID) is None
    assert call_of_poll(f"{CALL_ID}/polls/") is None
    with pytest.raises(MalformedDocument):
        ulid_time("not-a-ulid")


def _vote(**changes: object) -> dict[str, object]:
    """Mastodon's vote Note (app/serializers/activitypub/vote_serializer.rb): id, type, name,
    attributedTo, inReplyTo, to; no content."""
    note: dict[str, object] = {
        "id": f"{VOTER}#votes/7",
        "type": "Note",
        "name": GOING,
        "attributedTo": VOTER,
        "inReplyTo": POLL,
        "to": CHAPTER,
    }
    note.update(changes)
    return {k: v for k, v in note.items() if v is not None}


def test_a_mastodon_vote_parses():
    assert looks_like_vote(_vote())
    vote = parse_vote(_vote(name=CANT), actor=VOTER)
    assert (vote.note_id, vote.voter, vote.poll, vote.choice) == (
        f"{VOTER}#votes/7",
        VOTER,
        POLL,
        CANT,
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Maybe"},
        {"name": ["Going"]},
        {"attributedTo": "https://social.example/users/mallory"},
        {"attributedTo": None},
        {"id": None},
        {"type": "Article"},
    ],
)
def test_what_is_not_a_vote_of_ours_is_refused(changes):
    with pytest.raises(MalformedDocument):
        parse_vote(_vote(**changes), actor=VOTER)


def test_ordinary_replies_do_not_look_like_votes():
    reply = {"id": f"{VOTER}/1", "type": "Note", "content": "<p>hi</p>", "inReplyTo": POLL}
    assert not looks_like_vote(reply)
    assert not looks_like_vote(_vote(inReplyTo=None))
    assert not looks_like_vote(None)
