"""A change of a call's time or place, its cancellation and its restoration reach everyone
hoping to go, each on their own channel; other edits bother nobody.

Real nodes on loopback: the chapter's node (its member hal), two member nodes (alice and carol
take part; bob follows the chapter but did not answer the call), and bovine, an independent
ActivityPub implementation, as a participant with no Chapterhouse: the chapter tells it by a
direct message, which bovine verifies like any delivery.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from storage.repositories import actions as action_repo
from tests.federation.conftest import Federation
from tests.interop.peer import BovinePeer
from tests.rig.nodes import Node, eventually
from tests.rig.reminders import NOTICE, call_body, create_call, notices, organise, rsvp
from tests.rig.reminders import wait_accepted as accepted_on

START = datetime.fromisoformat("2027-06-12T10:00:00+01:00")
KINDS = ("call_changed", "call_cancelled", "call_restored")


@pytest.fixture
async def bovine_peer():
    peer = BovinePeer()
    await peer.start()
    yield peer
    await peer.stop()


def _dms(peer: BovinePeer, notice: str) -> list[dict]:
    return [
        r.activity["object"]
        for r in peer.of_type("Create")
        if isinstance(r.activity.get("object"), dict)
        and r.activity["object"].get(NOTICE) == notice
        and r.verified
    ]


async def _copy_says(node: Node, call_id: str, text: str) -> None:
    """Wait until ``node``'s copy of the call carries ``text`` (its Update has arrived)."""

    async def arrived() -> bool:
        async with node.services.db.read() as session:
            row = await action_repo.call_by_ap_id(session, call_id)
        return row is not None and text in str(row.document)

    await eventually(arrived, timeout=30, what=f"{text!r} to reach {node.base_url}")


async def test_time_place_cancel_and_restore_reach_members_here_and_elsewhere_and_a_peer(
    federation: Federation, bovine_peer: BovinePeer
):
    fed = federation
    c = fed.chapter_node
    hal = await c.member("hal")
    call_id = await create_call(c, fed.organiser_token, call_body(START))
    for node, name, token in (
        (c, "hal", hal.token),
        (fed.m1, "alice", fed.tokens["alice"]),
        (fed.m2, "carol", fed.tokens["carol"]),
    ):
        await rsvp(node, token, call_id)
        await accepted_on(node, name, call_id)
    join = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{bovine_peer.origin}/join/1",
        "type": "Join",
        "actor": bovine_peer.actor_id,
        "object": call_id,
        "to": [fed.chapter_id],
    }
    assert (await bovine_peer.post(f"{c.base_url}/inbox", join)).status == 202

    async def bovine_accepted() -> bool:
        return any(
            isinstance(r.activity.get("object"), dict)
            and r.activity["object"].get("id") == join["id"]
            for r in bovine_peer.of_type("Accept")
        )

    await eventually(bovine_accepted, timeout=30, what="bovine's Join to be accepted")
    people = {
        "hal": (c, hal.actor.ap_id),
        "alice": (fed.m1, fed.member_ids["alice"]),
        "carol": (fed.m2, fed.member_ids["carol"]),
    }

    async def told(kind: str) -> dict[str, list]:
        return {
            name: await notices(node, kind, actor, call_id)
            for name, (node, actor) in people.items()
        }

    async def everyone_told(kind: str, count: int = 1) -> None:
        async def check() -> bool:
            seen = await told(kind)
            return (
                all(len(v) >= count for v in seen.values())
                and len(_dms(bovine_peer, kind)) >= count
            )

        await eventually(check, timeout=30, what=f"everyone to be told {kind} x{count}")

    # A new description: the Update reaches everyone, and tells nobody anything.
    await organise(c, fed.organiser_token, "PATCH", call_id, "", {"description": "Bring gloves"})
    for node in (fed.m1, fed.m2):
        await _copy_says(node, call_id, "Bring gloves")
    for kind in KINDS:
        assert all(v == [] for v in (await told(kind)).values()), kind
        assert _dms(bovine_peer, kind) == []

    # A new time.
    later = START + timedelta(hours=3)
    await organise(
        c, fed.organiser_token, "PATCH", call_id, "",
        {"start": later.isoformat(), "end": (later + timedelta(hours=2)).isoformat()},
    )  # fmt: skip
    await everyone_told("call_changed")
    for name, notes in (await told("call_changed")).items():
        [note] = notes
        assert datetime.fromisoformat(note.data["start"]) == later, name
        assert note.member_id is not None, name  # an in-app notification on their own node
    [dm] = _dms(bovine_peer, "call_changed")
    assert dm["to"] == [bovine_peer.actor_id] and dm["attributedTo"] == fed.chapter_id
    assert "has changed" in dm["content"] and dm["url"] == call_id
    # bob follows the chapter but is not going: his node shows the change, tells him nothing.
    assert await notices(fed.m1, "call_changed", fed.member_ids["bob"]) == []

    # A new place: another change, another notification each.
    await organise(c, fed.organiser_token, "PATCH", call_id, "", {"place": {"name": "Lock 9"}})
    await everyone_told("call_changed", 2)
    changed = await told("call_changed")
    assert all(changed[n][1].data["place"].startswith("Lock 9,") for n in people), changed

    # Cancelled with a reason, then restored.
    await organise(c, fed.organiser_token, "POST", call_id, "/cancel", {"reason": "Flooded"})
    await everyone_told("call_cancelled")
    for name, notes in (await told("call_cancelled")).items():
        assert [n.data.get("reason") for n in notes] == ["Flooded"], name
    assert "Reason: Flooded." in _dms(bovine_peer, "call_cancelled")[0]["content"]
    await organise(c, fed.organiser_token, "POST", call_id, "/restore", None)
    await everyone_told("call_restored")

    # Once each: the chapter's direct messages to alice's and carol's accounts were ignored
    # by their Chapterhouse nodes, which told them from the Update instead.
    for kind, count in (("call_changed", 2), ("call_cancelled", 1), ("call_restored", 1)):
        seen = await told(kind)
        assert {name: len(v) for name, v in seen.items()} == dict.fromkeys(people, count), kind
        assert len(_dms(bovine_peer, kind)) == count, kind
