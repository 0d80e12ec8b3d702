"""RSVP from Mastodon: a call's poll, answered with Mastodon's own vote shape.

A real node on loopback and the independent bovine peer (``tests/interop/peer.py``: bovine signs
what it sends and verifies what it receives, fetching the chapter's key itself). The peer plays
a Mastodon user: it receives the chapter's ``Create{Question}``, and votes exactly as
Mastodon's ``ActivityPub::VoteSerializer`` writes a vote (a ``Create`` to the poll's author
whose ``Note`` has ``name`` = the option, ``inReplyTo`` = the poll, ``attributedTo`` = the
voter, and no content). The answer comes back as a direct message.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from node.runtime.clock import FrozenClock
from protocol.jsonld import PUBLIC
from storage.models import InboxItem, Notification, Participant, PollVote
from storage.models.states import InboxState
from storage.repositories import actions as action_repo
from tests.interop.peer import BovinePeer, Received
from tests.rig.api import call_api
from tests.rig.http import get_json
from tests.rig.nodes import Node, acli, eventually

GOING, CANT = "Going", "Can't make it"
_votes = itertools.count(1)


def _call(days: float = 30, **extra: Any) -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=days)).replace(second=0, microsecond=0)
    return {
        "title": "Canal clean-up",
        "start": start.isoformat(),
        "end": (start + timedelta(hours=3)).isoformat(),
        "timezone": "Europe/London",
        "place": {"name": "Lock 7"},
        **extra,
    }


def mastodon_vote(peer: BovinePeer, chapter: str, poll: str, choice: str) -> dict[str, Any]:
    """A vote as Mastodon sends it (ids ``{account}#votes/{id}`` and ``.../activity``)."""
    n = next(_votes)
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{peer.actor_id}#votes/{n}/activity",
        "type": "Create",
        "actor": peer.actor_id,
        "to": chapter,
        "object": {
            "id": f"{peer.actor_id}#votes/{n}",
            "type": "Note",
            "name": choice,
            "attributedTo": peer.actor_id,
            "inReplyTo": poll,
            "to": chapter,
        },
    }


def _object(r: Received) -> dict[str, Any]:
    obj = r.activity.get("object")
    return obj if isinstance(obj, dict) else {}


def questions(peer: BovinePeer, kind: str, poll: str) -> list[dict[str, Any]]:
    return [
        _object(r)
        for r in peer.of_type(kind)
        if r.verified and _object(r).get("type") == "Question" and _object(r).get("id") == poll
    ]


def direct_messages(peer: BovinePeer) -> list[Received]:
    return [
        r
        for r in peer.of_type("Create")
        if _object(r).get("type") == "Note" and _object(r).get("to") == [peer.actor_id]
    ]


def tallies(question: dict[str, Any]) -> dict[str, int]:
    return {o["name"]: o["replies"]["totalItems"] for o in question["oneOf"]}


async def wait(check: Callable[[], bool], what: str, peer: BovinePeer | None = None) -> None:
    async def checked() -> bool:
        return check()

    try:
        await eventually(checked, what=what)
    except AssertionError as exc:
        seen = [(r.type, _object(r).get("type")) for r in peer.received] if peer else []
        raise AssertionError(f"{exc}; the peer received {seen}") from None


async def follow(peer: BovinePeer, chapter: str) -> dict[str, Any]:
    doc = await peer.fetch(chapter)
    follow = peer.follow(chapter)
    assert (await peer.post(doc["inbox"], follow)).status == 202
    await wait(
        lambda: any(
            r.verified and _object(r).get("id") == follow["id"] for r in peer.of_type("Accept")
        ),
        "the Accept of the Follow",
        peer,
    )
    return doc


async def places(node: Node, call_id: str) -> dict[str, str]:
    """Who holds a place or waits, with their state."""
    async with node.services.db.read() as session:
        row = await action_repo.call_by_ap_id(session, call_id)
        assert row is not None
        found = await session.scalars(select(Participant).where(Participant.call_id == row.id))
        return {p.actor: p.state for p in found}


async def votes(node: Node) -> dict[str, str]:
    async with node.services.db.read() as session:
        return {v.actor: v.choice for v in await session.scalars(select(PollVote))}


async def told(node: Node, actor: str) -> int:
    """How many notifications ``actor`` has (one row per person and event)."""
    async with node.services.db.read() as session:
        count = await session.scalar(select(func.count()).where(Notification.recipient == actor))
    return int(count or 0)


async def processed(node: Node, activity_id: str) -> bool:
    async with node.services.db.read() as session:
        state = await session.scalar(
            select(InboxItem.state).where(InboxItem.activity_id == activity_id)
        )
    return state == InboxState.PROCESSED


async def vote(
    node: Node, peer: BovinePeer, inbox: str, activity: dict[str, Any], status: int = 202
) -> None:
    """Send a vote and wait until the node has handled it."""
    answer = await peer.post(inbox, activity)
    assert answer.status == status, answer
    if status == 202:

        async def done() -> bool:
            return await processed(node, activity["id"])

        await eventually(done, what=f"the node to handle {activity['id']}")


async def organiser(node: Node) -> tuple[str, str]:
    chapter = (await node.chapter("greenpark")).actor.ap_id
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    return chapter, olga.token


async def test_a_going_vote_is_an_rsvp_answered_by_dm_and_a_changed_vote_a_leave(
    nodes, bovine_peer
):
    node = await nodes()
    chapter, token = await organiser(node)
    chapter_doc = await follow(bovine_peer, chapter)
    inbox = chapter_doc["inbox"]
    status, call = await call_api(
        node.base_url, token, "POST", "/api/v1/chapters/greenpark/actions", _call(poll=True)
    )
    assert status == 201, call
    call_id, poll = call["id"], call["poll"]
    assert poll.startswith(f"{call_id}/polls/")

    # The follower gets the poll, in Mastodon's Question shape, signed by the chapter.
    await wait(lambda: bool(questions(bovine_peer, "Create", poll)), "the Question", bovine_peer)
    question = questions(bovine_peer, "Create", poll)[0]
    assert question["attributedTo"] == chapter
    assert [o["name"] for o in question["oneOf"]] == [GOING, CANT]
    assert tallies(question) == {GOING: 0, CANT: 0}
    assert question["name"].startswith("Coming to Canal clean-up on ")
    assert question["endTime"].replace("Z", "+00:00") == datetime.fromisoformat(
        call["start"]
    ).astimezone(UTC).isoformat().replace(".000000", "")
    assert question["to"] == [PUBLIC] and question["cc"] == [f"{chapter}/followers"]
    assert f'href="{call_id}"' in question["content"]
    assert "closed" not in question

    # "Going": the voter holds a place, and is told so in a direct message.
    going = mastodon_vote(bovine_peer, chapter, poll, GOING)
    await vote(node, bovine_peer, inbox, going)
    assert await places(node, call_id) == {bovine_peer.actor_id: "accepted"}
    assert await votes(node) == {bovine_peer.actor_id: GOING}
    await wait(lambda: len(direct_messages(bovine_peer)) == 1, "the answer", bovine_peer)
    dm = direct_messages(bovine_peer)[0]
    assert dm.verified and dm.signed_by == chapter
    note = _object(dm)
    assert note["cc"] == [] and PUBLIC not in str(dm.activity.get("to"))
    assert note["tag"] == [
        {"type": "Mention", "href": bovine_peer.actor_id, "name": note["tag"][0]["name"]}
    ]
    assert note["chapterhouse:notice"] == "rsvp_accepted"
    assert note["inReplyTo"] == poll
    assert "Canal clean-up" in note["content"] and "confirmed" in note["content"]

    # The poll's "Going" is the call's participants: served, and sent to followers.
    served = await get_json(poll)
    assert tallies(served) == {GOING: 1, CANT: 0}
    assert served["votersCount"] == 1
    assert (await get_json(call_id))["participantCount"] == 1
    await wait(
        lambda: any(tallies(q)[GOING] == 1 for q in questions(bovine_peer, "Update", poll)),
        "an Update{Question} with one going",
        bovine_peer,
    )

    # The same vote delivered again (as is, or in a new envelope) changes nothing.
    assert (await bovine_peer.post(inbox, going)).status == 202
    again = {**going, "id": f"{going['id']}-again"}
    await vote(node, bovine_peer, inbox, again)
    assert await places(node, call_id) == {bovine_peer.actor_id: "accepted"}
    assert await told(node, bovine_peer.actor_id) == 1

    # A changed vote is a Leave: the place is given back, and the poll says so.
    cant = mastodon_vote(bovine_peer, chapter, poll, CANT)
    await vote(node, bovine_peer, inbox, cant)
    assert await places(node, call_id) == {}
    assert await votes(node) == {bovine_peer.actor_id: CANT}
    await wait(lambda: len(direct_messages(bovine_peer)) == 2, "the second answer", bovine_peer)
    note = _object(direct_messages(bovine_peer)[1])
    assert note["chapterhouse:notice"] == "vote_counted"
    assert "can&#x27;t make it" in note["content"] and "place is given back" in note["content"]
    served = await get_json(poll)
    assert tallies(served) == {GOING: 0, CANT: 1}
    assert (await get_json(call_id))["participantCount"] == 0
    await wait(
        lambda: any(
            tallies(q) == {GOING: 0, CANT: 1} for q in questions(bovine_peer, "Update", poll)
        ),
        "an Update{Question} with the changed vote",
        bovine_peer,
    )
    assert bovine_peer.unverified() == []


async def test_a_vote_on_a_full_call_joins_the_waiting_list(nodes, bovine_peer):
    node = await nodes()
    chapter, token = await organiser(node)
    status, call = await call_api(
        node.base_url, token, "POST", "/api/v1/chapters/greenpark/actions", _call(capacity=1)
    )
    assert status == 201, call
    call_id = call["id"]
    # The organiser publishes the poll from the command line.
    published = await acli(
        "action", "poll", call_id, "--data", str(node.data_dir), "--as", "olga", env=node.cli_env
    )
    poll = published.stdout.strip()
    assert poll.startswith(f"{call_id}/polls/"), published
    inbox = (await bovine_peer.fetch(chapter))["inbox"]
    daisy = BovinePeer(name="daisy")  # a second Mastodon user, following nobody here
    await daisy.start()
    try:
        await vote(node, bovine_peer, inbox, mastodon_vote(bovine_peer, chapter, poll, GOING))
        await vote(node, daisy, inbox, mastodon_vote(daisy, chapter, poll, GOING))
        assert await places(node, call_id) == {
            bovine_peer.actor_id: "accepted",
            daisy.actor_id: "waitlisted",
        }
        await wait(lambda: len(direct_messages(daisy)) == 1, "daisy's answer", daisy)
        note = _object(direct_messages(daisy)[0])
        assert note["chapterhouse:notice"] == "rsvp_waitlisted"
        assert "waiting list" in note["content"]
        assert note["tag"][0]["href"] == daisy.actor_id
        assert tallies(await get_json(poll)) == {GOING: 1, CANT: 0}
        assert (await get_json(call_id))["participantCount"] == 1

        # The first voter changes their mind: the place goes to daisy, and "Going" stays 1.
        await vote(node, bovine_peer, inbox, mastodon_vote(bovine_peer, chapter, poll, CANT))
        assert await places(node, call_id) == {daisy.actor_id: "accepted"}
        assert tallies(await get_json(poll)) == {GOING: 1, CANT: 1}
        await wait(lambda: len(direct_messages(daisy)) == 2, "daisy's promotion", daisy)
        assert _object(direct_messages(daisy)[1])["chapterhouse:notice"] == "rsvp_promoted"
        assert (await get_json(call_id))["participantCount"] == 1
    finally:
        await daisy.stop()


async def test_votes_that_are_not_votes_on_an_open_poll_store_nothing(nodes, bovine_peer):
    clock = FrozenClock(datetime.now(UTC))
    node = await nodes(clock=clock)
    chapter, token = await organiser(node)
    status, call = await call_api(
        node.base_url,
        token,
        "POST",
        "/api/v1/chapters/greenpark/actions",
        _call(days=10 / 1440, poll=True),  # starts in ten minutes
    )
    assert status == 201, call
    call_id, poll = call["id"], call["poll"]
    other_call = await call_api(
        node.base_url, token, "POST", "/api/v1/chapters/greenpark/actions", _call()
    )
    inbox = (await bovine_peer.fetch(chapter))["inbox"]
    peer = bovine_peer

    def shaped(**note: Any) -> dict[str, Any]:
        activity = mastodon_vote(peer, chapter, poll, GOING)
        activity["object"].update(note)
        return activity

    ignored = [
        shaped(name="Maybe"),  # not an option
        shaped(name=GOING.upper()),
        shaped(inReplyTo=f"{call_id}/polls/01ZZZZZZZZZZZZZZZZZZZZZZZZ"),  # no poll of ours
        shaped(inReplyTo=call_id),
        shaped(inReplyTo=f"{other_call[1]['id']}/polls/{poll.rsplit('/', 1)[1]}"),
        {**shaped(), "type": "Update"},  # a vote is a Create
    ]
    for activity in ignored:
        await vote(node, peer, inbox, activity)
    # Credited to someone else: the inbox refuses it outright (403), nothing is stored.
    await vote(node, peer, inbox, shaped(attributedTo=f"{peer.origin}/mallory"), status=403)
    await vote(node, peer, inbox, shaped(attributedTo="https://elsewhere.example/x"), status=403)

    # Once the call has started, the poll is closed: a vote is ignored.
    clock.advance(timedelta(minutes=11))
    await vote(node, peer, inbox, shaped())
    served = await get_json(poll)
    assert served["closed"] == served["endTime"]

    assert await votes(node) == {}
    assert await places(node, call_id) == {}
    assert await told(node, peer.actor_id) == 0
    assert tallies(served) == {GOING: 0, CANT: 0}
    assert direct_messages(peer) == []


@pytest.mark.parametrize("who", ["member", "stranger"])
async def test_only_organisers_publish_a_poll(nodes, who):
    node = await nodes()
    _chapter, token = await organiser(node)
    status, call = await call_api(
        node.base_url, token, "POST", "/api/v1/chapters/greenpark/actions", _call()
    )
    assert status == 201
    if who == "member":
        await node.member("mo", chapter="greenpark")
    else:
        await node.member("mo")
    result = await acli(
        "action",
        "poll",
        call["id"],
        "--data",
        str(node.data_dir),
        "--as",
        "mo",
        env=node.cli_env,
        check=False,
    )
    assert result.returncode == 1 and "mo is not an organiser of greenpark" in result.stderr
    async with node.services.db.read() as session:
        row = await action_repo.call_by_ap_id(session, call["id"])
        assert row is not None and row.poll is None
    # The organiser can; asking again gives the same poll (a call has one).
    cli_args = ("action", "poll", call["id"], "--data", str(node.data_dir), "--as", "olga")
    first = (await acli(*cli_args, env=node.cli_env)).stdout.strip()
    assert first.startswith(f"{call['id']}/polls/")
    assert (await acli(*cli_args, env=node.cli_env)).stdout.strip() == first
    # A body whose poll is not a boolean is refused before anything is stored.
    status, problem = await call_api(
        node.base_url, token, "POST", "/api/v1/chapters/greenpark/actions", _call(poll="yes")
    )
    assert status == 422 and "poll" in problem["detail"], problem


async def test_action_create_with_poll_publishes_it(nodes):
    node = await nodes()
    await organiser(node)
    when = _call()
    result = await acli(
        "action",
        "create",
        "--data",
        str(node.data_dir),
        "--as",
        "olga",
        "--chapter",
        "greenpark",
        "--title",
        when["title"],
        "--start",
        when["start"],
        "--end",
        when["end"],
        "--poll",
        env=node.cli_env,
    )
    call_id = result.stdout.strip()
    async with node.services.db.read() as session:
        row = await action_repo.call_by_ap_id(session, call_id)
        assert row is not None and row.poll is not None
    assert f"RSVP poll: {row.poll}" in result.stderr
    question = await get_json(row.poll)
    assert question["type"] == "Question" and question["id"] == row.poll
    # A browser asking for the poll is sent to the call's page; an unknown poll is a 404.
    async with aiohttp.ClientSession() as session:
        async with session.get(
            row.poll, headers={"Accept": "text/html"}, allow_redirects=False
        ) as resp:
            assert resp.status == 303 and resp.headers["Location"] == call_id
        unknown = f"{call_id}/polls/01ZZZZZZZZZZZZZZZZZZZZZZZZ"
        async with session.get(unknown, headers={"Accept": "application/activity+json"}) as resp:
            assert resp.status == 404
