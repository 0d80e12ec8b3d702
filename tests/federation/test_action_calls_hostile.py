"""Forged and misdirected action-call traffic is refused, and nothing from it is stored."""

from __future__ import annotations

import orjson
from sqlalchemy import func, select

from protocol.activities import build_create, build_delete, build_join, build_update
from storage.models import ActionCall, InboxItem, OutboxActivity, Participant
from tests.rig.api import call_api
from tests.rig.nodes import Node, eventually
from tests.rig.signing import post, signed_post_headers

CALL = {
    "title": "Canal clean-up",
    "start": "2027-04-12T10:00:00+01:00",
    "end": "2027-04-12T13:00:00+01:00",
    "timezone": "Europe/London",
    "place": "Lock 7",
}


async def _count(node: Node, model) -> int:
    async with node.services.db.read() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def _send(sender_node: Node, sender, inbox: str, activity: dict) -> tuple[int, dict]:
    body = orjson.dumps(activity)
    signer = sender_node.services.keys.rsa_signer(sender)
    return await post(
        inbox, body, signed_post_headers(inbox, body, key_id=signer.key_id, key=signer.private_key)
    )


async def _call_on_member_node(federation) -> tuple[dict, dict]:
    fed = federation
    status, call = await call_api(
        fed.chapter_node.base_url,
        fed.organiser_token,
        "POST",
        "/api/v1/chapters/greenpark/actions",
        CALL,
    )
    assert status == 201

    async def arrived() -> bool:
        return await _count(fed.m1, ActionCall) == 1

    await eventually(arrived, what="the call to reach node 1")
    async with fed.m1.services.db.read() as session:
        row = await session.scalar(select(ActionCall))
    return call, row.document


async def test_create_of_event_attributed_to_another_chapter_is_refused(federation):
    fed = federation
    c = fed.chapter_node
    impostor = (await c.chapter("impostor")).actor
    items_before = await _count(fed.m1, InboxItem)
    event = {
        "id": f"{impostor.ap_id}/actions/forged",
        "type": "Event",
        "attributedTo": fed.chapter_id,
        "name": "The protest moved to the motorway",
        "startTime": "2027-04-12T10:00:00+01:00",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }
    create = build_create(c.services.activity_id(), impostor.ap_id, event)
    status, problem = await _send(c, impostor, f"{fed.m1.base_url}/inbox", create)
    assert status == 403
    assert "attributed to" in problem["detail"]
    assert await _count(fed.m1, InboxItem) == items_before
    assert await _count(fed.m1, ActionCall) == 0


async def test_update_and_delete_by_anyone_but_the_chapter_are_refused(federation):
    fed = federation
    call, doc = await _call_on_member_node(fed)
    items_before = await _count(fed.m1, InboxItem)
    inbox = f"{fed.m1.base_url}/inbox"

    # Another chapter on the same node (same origin) tries to rewrite and cancel the call.
    impostor = (await fed.chapter_node.chapter("impostor")).actor
    ids = fed.chapter_node.services
    forged = {**doc, "name": "Moved to the motorway", "attributedTo": impostor.ap_id}
    status, problem = await _send(
        fed.chapter_node, impostor, inbox, build_update(ids.activity_id(), impostor.ap_id, forged)
    )
    assert status == 403 and "does not own" in problem["detail"]
    forged_as_chapter = {**doc, "name": "Moved to the motorway"}
    status, problem = await _send(
        fed.chapter_node,
        impostor,
        inbox,
        build_update(ids.activity_id(), impostor.ap_id, forged_as_chapter),
    )
    assert status == 403 and "attributed to" in problem["detail"]
    status, problem = await _send(
        fed.chapter_node,
        impostor,
        inbox,
        build_delete(ids.activity_id(), impostor.ap_id, call["id"], "Event"),
    )
    assert status == 403 and "does not own" in problem["detail"]

    # A member on another node tries the same.
    mallory = (await fed.m2.member("mallory")).actor
    m2 = fed.m2.services
    status, problem = await _send(
        fed.m2, mallory, inbox, build_delete(m2.activity_id(), mallory.ap_id, call["id"], "Event")
    )
    assert status == 403
    status, _ = await _send(
        fed.m2,
        mallory,
        inbox,
        build_update(m2.activity_id(), mallory.ap_id, {**doc, "attributedTo": mallory.ap_id}),
    )
    assert status == 403

    assert await _count(fed.m1, InboxItem) == items_before
    async with fed.m1.services.db.read() as session:
        row = await session.scalar(select(ActionCall))
    assert row.title == "Canal clean-up" and row.status == "CONFIRMED"


async def test_join_for_unknown_call_gets_reject_and_nothing_is_stored(federation):
    fed = federation
    alice_node = fed.m1
    alice = await alice_node.services.instance_actor()  # any actor of node 1 will do
    async with alice_node.services.db.read() as session:
        from storage.repositories import actors as actor_repo

        alice = await actor_repo.local_actor_by_name(session, "alice")
    unknown = f"{fed.chapter_id}/actions/01NOSUCHCALL0000000000000"
    join = build_join(alice_node.services.activity_id(), alice.ap_id, unknown, fed.chapter_id)
    status, _ = await _send(alice_node, alice, f"{fed.chapter_id}/inbox", join)
    assert status == 202

    async def rejected() -> bool:
        async with fed.chapter_node.services.db.read() as session:
            rows = list(
                await session.scalars(
                    select(OutboxActivity).where(OutboxActivity.activity_type == "Reject")
                )
            )
        return any(r.body["object"]["id"] == join["id"] for r in rows)

    await eventually(rejected, what="the chapter to answer the Join with Reject")
    assert await _count(fed.chapter_node, Participant) == 0
