"""Waiting lists and slots across nodes, on real nodes over loopback.

- A fediverse peer that knows nothing of waiting lists (a scripted server, signing as a real
  one would) joins a full call: it gets no ``Accept`` or ``Reject`` (its Join stays pending)
  but a direct message; when a place frees it gets ``Accept{Join}`` of its own Join and a
  direct message saying so.
- Members of another Chapterhouse node name slots (by role name; the Join carries the slot
  id), take the first slot with room when they name none, and wait for a full slot; the
  participants API gives each one's state and slot; a removal promotes the one waiting for
  that slot, and each member's node shows and tells what became of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from storage.models import Notification
from storage.repositories import actions as action_repo
from tests.rig.api import call_api
from tests.rig.hostile import HostileServer
from tests.rig.nodes import Node, acli, eventually
from tests.rig.signin import browser, get, login, set_password

CALL = {
    "title": "Canal clean-up",
    "start": "2031-04-12T10:00:00+01:00",
    "end": "2031-04-12T13:00:00+01:00",
    "timezone": "Europe/London",
}


@pytest.fixture
async def peer() -> AsyncIterator[HostileServer]:
    server = await HostileServer().start()
    server.add_actor("mia")  # a Mastodon user
    server.add_actor("max")
    yield server
    await server.stop()


async def _chapter(node: Node, **call: object) -> tuple[str, str]:
    await node.chapter("greenpark", title="Green Park")
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    assert olga.token is not None
    status, body = await call_api(
        node.base_url, olga.token, "POST", "/api/v1/chapters/greenpark/actions", {**CALL, **call}
    )
    assert status == 201, body
    return olga.token, body["id"]


async def _kinds(node: Node, recipient: str) -> list[str]:
    async with node.services.db.read() as session:
        rows = await session.scalars(
            select(Notification.kind)
            .where(Notification.recipient == recipient)
            .order_by(Notification.id)
        )
        return list(rows)


async def _participants(node: Node, token: str, call_id: str) -> dict[str, dict]:
    ulid = call_id.rsplit("/", 1)[1]
    status, body = await call_api(
        node.base_url, token, "GET", f"/api/v1/chapters/greenpark/actions/{ulid}/participants"
    )
    assert status == 200, body
    return {p["actor"]: p for p in body["items"]}


def _dm_to(server: HostileServer, name: str, notice: str) -> list[dict]:
    return [
        a
        for a in server.posts(f"/actors/{name}/inbox")
        if a.get("type") == "Create" and a["object"].get("chapterhouse:notice") == notice
    ]


async def test_a_peer_that_knows_no_waiting_list_waits_pending_and_is_promoted(nodes, peer) -> None:
    node = await nodes()
    token, call_id = await _chapter(node, capacity=1)
    inbox = f"{node.base_url}/inbox"
    joins = {}
    for name in ("max", "mia"):
        joins[name] = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": peer.activity_id("join"),
            "type": "Join",
            "actor": peer.actor_id(name),
            "object": call_id,
        }
        reply = await peer.post(inbox, joins[name], as_actor=name)
        assert reply.status in (200, 202), reply.problem

        async def handled(name: str = name) -> bool:
            return peer.actor_id(name) in await _participants(node, token, call_id)

        await eventually(handled, timeout=30, what=f"{name}'s Join to be decided")

    async def mia_told() -> bool:
        return bool(_dm_to(peer, "mia", "rsvp_waitlisted"))

    await eventually(mia_told, timeout=30, what="mia's waiting-list message")
    dm = _dm_to(peer, "mia", "rsvp_waitlisted")[0]
    note = dm["object"]
    assert note["to"] == [peer.actor_id("mia")] and note["cc"] == []
    assert note["context"] == call_id and note["url"] == call_id
    assert "waiting list" in note["content"] and "number 1" in note["content"]
    assert note["tag"][0]["href"] == peer.actor_id("mia")
    answers = [a for a in peer.posts("/actors/mia/inbox") if a["type"] in ("Accept", "Reject")]
    assert answers == []  # federation stays pending
    assert [a["type"] for a in peer.posts("/actors/max/inbox")] == ["Accept"]
    shown = await _participants(node, token, call_id)
    assert shown[peer.actor_id("mia")]["state"] == "waitlisted"
    assert shown[peer.actor_id("max")]["state"] == "accepted"
    assert await _kinds(node, node.services.ids.actor("olga")) == ["new_participant"]

    leave = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": peer.activity_id("leave"),
        "type": "Leave",
        "actor": peer.actor_id("max"),
        "object": call_id,
    }
    reply = await peer.post(inbox, leave, as_actor="max")
    assert reply.status in (200, 202), reply.problem

    async def mia_accepted() -> bool:
        types = [a["type"] for a in peer.posts("/actors/mia/inbox")]
        return "Accept" in types and bool(_dm_to(peer, "mia", "rsvp_promoted"))

    await eventually(mia_accepted, timeout=30, what="mia's promotion to reach her server")
    accept = next(a for a in peer.posts("/actors/mia/inbox") if a["type"] == "Accept")
    assert accept["actor"] == node.services.ids.actor("greenpark")
    assert accept["object"]["id"] == joins["mia"]["id"]
    assert accept["object"]["actor"] == peer.actor_id("mia")
    assert accept["object"]["object"] == call_id
    shown = await _participants(node, token, call_id)
    assert list(shown) == [peer.actor_id("mia")] and shown[peer.actor_id("mia")]["state"] == (
        "accepted"
    )
    assert await _kinds(node, node.services.ids.actor("olga")) == ["new_participant"] * 2


async def test_slots_hold_their_capacities_across_nodes(nodes) -> None:
    chapter_node = await nodes()
    token, call_id = await _chapter(
        chapter_node, slots=["10:00-11:00 litter pickers:1", "11:00-13:00 sorting:1"]
    )
    pickers, sorting = f"{call_id}#slot-1", f"{call_id}#slot-2"
    home = await nodes()
    members = {name: await home.member(name) for name in ("ann", "ben", "cal")}

    async def rsvp(name: str, slot: str | None = None) -> dict:
        body = {"call": call_id} if slot is None else {"call": call_id, "slot": slot}
        status, answer = await call_api(
            home.base_url, members[name].token, "POST", "/api/v1/rsvps", body
        )
        assert status == 202, answer
        return answer

    async def state_at_home(name: str) -> str | None:
        _status, body = await call_api(
            home.base_url, members[name].token, "GET", "/api/v1/commitments"
        )
        return next((c["state"] for c in body["items"] if c["call"] == call_id), None)

    async def settle(name: str, state: str) -> None:
        async def check() -> bool:
            return await state_at_home(name) == state

        await eventually(check, timeout=30, what=f"{name}'s commitment to be {state}")

    assert (await rsvp("ann", "Sorting"))["slot"] == sorting  # by role name, sent as the id
    await settle("ann", "accepted")
    await rsvp("ben")  # names none: the first slot with room
    await settle("ben", "accepted")
    await rsvp("cal", sorting)  # full: waits for that slot, though pickers has none either
    await settle("cal", "waitlisted")
    ids = {name: created.actor.ap_id for name, created in members.items()}
    shown = await _participants(chapter_node, token, call_id)
    assert {n: (shown[i]["state"], shown[i]["slot"]) for n, i in ids.items()} == {
        "ann": ("accepted", sorting),
        "ben": ("accepted", pickers),
        "cal": ("waitlisted", sorting),
    }
    assert await _kinds(home, ids["cal"]) == ["rsvp_waitlisted"]
    # The organiser's participants page: each slot with its people, then the waiting list.
    await set_password(chapter_node, "olga")
    async with browser() as http:
        assert (await login(http, chapter_node, "olga")).status == 303
        page = await get(http, f"{chapter_node.services.ids.actor('greenpark')}/manage")
    roster = page.text[page.text.index('id="calls-h"') :]
    order = [
        roster.index("litter pickers: 1 of 1"),
        roster.index(ids["ben"]),
        roster.index("sorting: 1 of 1"),
        roster.index(ids["ann"]),
        roster.index("Waiting list"),
        roster.index(ids["cal"]),
    ]
    assert order == sorted(order), roster
    assert "(for sorting)" in roster

    # A local member names an unknown slot with the CLI: refused, nothing stored.
    await chapter_node.member("dee")
    env = chapter_node.cli_env
    data = str(chapter_node.data_dir)
    refused = await acli(
        "rsvp", call_id, "--data", data, "--as", "dee", "--slot", "juggling", env=env, check=False
    )
    assert refused.returncode != 0 and "no slot 'juggling'" in refused.stderr
    assert len(await _participants(chapter_node, token, call_id)) == 3
    waiting = await acli("rsvp", call_id, "--data", data, "--as", "dee", "--slot", "2", env=env)
    assert f"waitlisted slot={sorting} position=2" in waiting.stdout

    # The organisers take ann's place back: cal, first waiting for sorting, gets it.
    ulid = call_id.rsplit("/", 1)[1]
    status, body = await call_api(
        chapter_node.base_url,
        token,
        "DELETE",
        f"/api/v1/chapters/greenpark/actions/{ulid}/participants?actor={ids['ann']}",
    )
    assert status == 200, body
    await settle("cal", "accepted")
    await settle("ann", "removed")
    shown = await _participants(chapter_node, token, call_id)
    assert (shown[ids["cal"]]["state"], shown[ids["cal"]]["slot"]) == ("accepted", sorting)
    dee = chapter_node.services.ids.actor("dee")
    assert shown[dee]["state"] == "waitlisted"
    assert await _kinds(home, ids["cal"]) == ["rsvp_waitlisted", "rsvp_promoted"]
    assert await _kinds(home, ids["ann"]) == ["rsvp_accepted", "rsvp_removed"]

    async with chapter_node.services.db.read() as session:
        row = await action_repo.call_by_ap_id(session, call_id)
    assert row is not None
    slots = row.document["chapterhouse:slots"]
    assert [(s["participantCount"], s["remainingAttendeeCapacity"]) for s in slots] == [
        (1, 0),
        (1, 0),
    ]
