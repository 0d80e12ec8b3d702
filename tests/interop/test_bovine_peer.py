"""Interop: bovine (an independent ActivityPub implementation from PyPI) as a real peer.

The peer (``tests/interop/peer.py``) signs with bovine's signer and verifies with bovine's
verifier, fetching Chapterhouse's keys over HTTP itself; nothing of Chapterhouse's protocol
code is on its side of the wire.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import aiohttp

from tests.interop.peer import BovinePeer, Received
from tests.rig.http import get_json
from tests.rig.nodes import eventually

CALL = {
    "title": "Canal clean-up",
    "start": "2027-04-12T10:00:00+01:00",
    "end": "2027-04-12T13:00:00+01:00",
    "timezone": "Europe/London",
    "place": {"name": "Lock 7"},
    "capacity": 10,
    "goal": "Clear the towpath",
    "targets": [{"metric": "kg_litter", "unit": "kg", "target": 200}],
}


def _id_of(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        ident = value.get("id")
        return ident if isinstance(ident, str) else None
    return None


def _answering(peer: BovinePeer, kind: str, request_id: str) -> list[Received]:
    """Activities of ``kind`` whose object is (or embeds) the activity ``request_id``."""
    return [r for r in peer.of_type(kind) if _id_of(r.activity.get("object")) == request_id]


def _describe(peer: BovinePeer) -> str:
    return (
        "; ".join(
            f"{r.type} from {r.activity.get('actor')} signed_by={r.signed_by}"
            for r in peer.received
        )
        or "nothing"
    )


async def _wait(peer: BovinePeer, check: Callable[[], Awaitable[bool]], what: str) -> None:
    """``eventually``, telling on failure what the peer did receive."""
    try:
        await eventually(check, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the peer received: {_describe(peer)}") from None


async def _follow_chapter(peer: BovinePeer, chapter_id: str) -> dict[str, Any]:
    """The peer follows the chapter; returns the chapter's actor document as bovine read it."""
    chapter_doc = await peer.fetch(chapter_id)
    assert chapter_doc["id"] == chapter_id
    assert chapter_doc["type"] == "Group"
    follow = peer.follow(chapter_id)
    assert follow["type"] == "Follow"
    assert follow["actor"] == peer.actor_id
    answer = await peer.post(chapter_doc["inbox"], follow)
    assert answer.status == 202, f"chapter refused bovine's Follow: {answer}"

    async def answered() -> bool:
        return bool(_answering(peer, "Accept", follow["id"]))

    await _wait(peer, answered, "an Accept of the Follow")
    accept = _answering(peer, "Accept", follow["id"])[0]
    assert accept.verified, f"bovine did not verify the Accept's signature: {accept}"
    assert accept.signed_by == chapter_id
    assert accept.activity["actor"] == chapter_id
    embedded = accept.activity["object"]
    if isinstance(embedded, dict):
        assert embedded["type"] == "Follow"
        assert _id_of(embedded["actor"]) == peer.actor_id
        assert _id_of(embedded["object"]) == chapter_id
    # bovine resolved the chapter's key itself, over HTTP, from the chapter's actor document.
    assert chapter_doc["publicKey"]["id"] in peer.key_fetches
    return chapter_doc


async def test_bovine_peer_follows_a_chapter_and_verifies_the_accept(nodes, bovine_peer):
    node = await nodes()
    chapter = (await node.chapter("greenpark")).actor

    await _follow_chapter(bovine_peer, chapter.ap_id)

    assert bovine_peer.unverified() == [], _describe(bovine_peer)
    page = await get_json(f"{chapter.ap_id}/followers?page=1")
    assert page["orderedItems"] == [bovine_peer.actor_id]
    assert page["totalItems"] == 1
    collection = await get_json(f"{chapter.ap_id}/followers")
    assert collection["totalItems"] == 1


async def test_bovine_verifier_refuses_tampered_deliveries(nodes, bovine_peer):
    """The check is real: replays of the chapter's Accept, altered, are refused by bovine."""
    node = await nodes()
    chapter = (await node.chapter("greenpark")).actor
    await _follow_chapter(bovine_peer, chapter.ap_id)
    accept = bovine_peer.of_type("Accept")[0]
    headers = {
        k: v for k, v in accept.headers.items() if k.lower() not in {"content-length", "host"}
    }
    date = parsedate_to_datetime(headers["Date"])
    tampered_body = accept.body.replace(b"/activities/", b"/activitiez/", 1)
    assert tampered_body != accept.body
    replays = {
        "body changed after signing": (headers, tampered_body),
        "signed Date changed": (
            {**headers, "Date": format_datetime(date - timedelta(seconds=1), usegmt=True)},
            accept.body,
        ),
    }
    async with aiohttp.ClientSession() as session:
        for what, (replay_headers, body) in replays.items():
            async with session.post(bovine_peer.inbox, data=body, headers=replay_headers) as resp:
                assert resp.status == 401, what
        # The untouched replay still verifies: the refusals above are the tampering's doing.
        async with session.post(bovine_peer.inbox, data=accept.body, headers=headers) as resp:
            assert resp.status == 202
    assert [r.verified for r in bovine_peer.received] == [True, False, False, True]


async def test_bovine_peer_receives_a_call_and_rsvps_with_join(nodes, bovine_peer):
    node = await nodes()
    chapter = (await node.chapter("greenpark")).actor
    chapter_doc = await _follow_chapter(bovine_peer, chapter.ap_id)

    created = await node.member("olga", role="organiser", chapter="greenpark")
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{node.base_url}/api/v1/chapters/greenpark/actions",
            json=CALL,
            headers={"Authorization": f"Bearer {created.token}"},
        ) as resp,
    ):
        assert resp.status == 201, await resp.text()
        call_id = (await resp.json())["id"]
    assert isinstance(call_id, str)

    def creates() -> list[Received]:
        return [
            r
            for r in bovine_peer.of_type("Create")
            if isinstance(r.activity.get("object"), dict)
            and r.activity["object"].get("id") == call_id
        ]

    async def call_arrived() -> bool:
        return bool(creates())

    await _wait(bovine_peer, call_arrived, "the call's Create")
    create = creates()[0]
    assert create.verified, f"bovine did not verify the Create's signature: {create}"
    assert create.signed_by == chapter.ap_id
    assert create.activity["object"]["type"] == "Event"

    join = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{bovine_peer.origin}/join/1",
        "type": "Join",
        "actor": bovine_peer.actor_id,
        "object": call_id,
        "to": [chapter.ap_id],
    }
    answer = await bovine_peer.post(chapter_doc["inbox"], join)
    assert answer.status == 202, f"chapter refused bovine's Join: {answer}"

    async def join_answered() -> bool:
        return bool(_answering(bovine_peer, "Accept", join["id"]))

    await _wait(bovine_peer, join_answered, "an Accept of the Join")
    accept = _answering(bovine_peer, "Accept", join["id"])[0]
    assert accept.verified, f"bovine did not verify the Accept's signature: {accept}"
    assert accept.signed_by == chapter.ap_id
    assert bovine_peer.unverified() == [], _describe(bovine_peer)

    call = await get_json(call_id)
    assert call["id"] == call_id
    assert call["participantCount"] == 1
