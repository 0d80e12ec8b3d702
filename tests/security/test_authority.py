"""Who may say what: ids on the actor's origin, attribution, relayed objects, ownership.

The hostile server's actors are genuine (their signatures verify); what they claim is not.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select

from node.federation.proofs import sign_object
from protocol.activities import (
    build_announce,
    build_create,
    build_delete,
    build_follow,
    build_update,
)
from protocol.jsonld import CONTEXT, PUBLIC
from storage.models import ActionCall, ImpactReport, InboxItem, LocalActor, RemoteActor
from storage.models.activity import RECEIVED
from tests.federation.conftest import follow_and_wait
from tests.rig.api import call_api
from tests.rig.hostile import HostileServer, send
from tests.rig.nodes import Node, eventually
from tests.rig.signing import signed_post_headers
from tests.security.helpers import (
    Honest,
    Target,
    assert_nothing_stored,
    assert_serves_honest,
    only_fetched,
    rows,
)

CALL = {
    "title": "Canal clean-up",
    "start": "2026-11-14T10:00:00+00:00",  # past: reports are taken once a call starts
    "end": "2026-11-14T13:00:00+00:00",
    "timezone": "Europe/London",
    "place": "Lock 7",
}


@dataclass
class ChapterWithCall:
    """An honest chapter on the honest node, followed from the target, with one call."""

    node: Node
    chapter: LocalActor
    call_id: str
    call_doc: dict[str, Any]  # the call as the target stored it


async def _chapter_with_call(target: Target, honest: Honest) -> ChapterWithCall:
    node = honest.node
    chapter = (await node.chapter("riverside")).actor
    organiser = await node.member("olga", role="organiser", chapter="riverside")
    await target.with_member()
    await follow_and_wait(target.node, "bea", chapter.ap_id)
    status, call = await call_api(
        node.base_url, organiser.token, "POST", "/api/v1/chapters/riverside/actions", CALL
    )
    assert status == 201, call

    async def arrived() -> bool:
        return await _call_row(target.node, call["id"]) is not None

    await eventually(arrived, what="the honest call to reach the target")
    row = await _call_row(target.node, call["id"])
    assert row is not None
    return ChapterWithCall(node, chapter, call["id"], copy.deepcopy(row.document))


async def _call_row(node: Node, call_id: str) -> ActionCall | None:
    async with node.services.db.read() as session:
        return await session.scalar(select(ActionCall).where(ActionCall.ap_id == call_id))


def _event(owner: str, ident: str, **changes: Any) -> dict[str, Any]:
    doc = {
        "id": ident,
        "type": "Event",
        "attributedTo": owner,
        "name": "The protest moved to the motorway",
        "startTime": "2027-04-12T10:00:00+01:00",
        "to": [PUBLIC],
    }
    doc.update(changes)
    return doc


async def test_activity_id_on_another_host_than_its_actor_is_403(
    target: Target, hostile: HostileServer, honest: Honest
):
    mallory = hostile.actor_id("mallory")
    before = await rows(target.node)
    for foreign_id in (
        f"{honest.node.base_url}/activities/forged",  # an honest node's origin
        f"{target.node.base_url}/activities/forged",  # the target's own origin
        f"http://127.0.0.1:{hostile.port + 1}/activities/forged",  # same host, another port
    ):
        reply = await hostile.post(target.inbox, build_follow(foreign_id, mallory, target.chapter))
        assert reply.status == 403, (foreign_id, reply)
        assert "origin" in reply.detail and foreign_id in reply.detail
    # A Create whose embedded object id is on another origin.
    event = _event(mallory, f"{honest.node.base_url}/actors/alice/actions/forged")
    reply = await hostile.post(
        target.shared_inbox, build_create(hostile.activity_id(), mallory, event)
    )
    assert reply.status == 403 and "origin" in reply.detail
    await assert_nothing_stored(target.node, before, except_=("RemoteActor",))
    assert set(hostile.gets()) <= {"/actors/mallory"}
    assert [h for h in honest.node.hits if h.method == "GET"] == []
    await assert_serves_honest(target, honest)


async def test_create_of_an_object_attributed_to_someone_else_is_403(
    target: Target, hostile: HostileServer, honest: Honest
):
    mallory, eve = hostile.actor_id("mallory"), hostile.actor_id("eve")
    before = await rows(target.node)
    cases = [
        # (object, words the refusal must contain)
        (_event(eve, hostile.url("/actors/eve/actions/1")), "attributed to"),  # same origin
        (_event(honest.actor_id, hostile.url("/actors/eve/actions/2")), "origin"),  # other origin
        (
            {**_event(eve, hostile.url("/actors/eve/actions/3")), "attributedTo": [eve]},
            "attributed",
        ),
        (
            {
                **_event(eve, hostile.url("/actors/eve/actions/4")),
                "attributedTo": {"id": eve, "type": "Group"},
            },
            "attributed to",
        ),
        (
            {
                k: v
                for k, v in _event(eve, hostile.url("/actors/eve/actions/5")).items()
                if k != "attributedTo"
            },
            "attributedTo",
        ),
        (
            {
                "id": hostile.url("/actors/eve/reports/1"),
                "type": "Note",
                "attributedTo": eve,
                "chapterhouse:reportOf": hostile.url("/actors/eve/actions/1"),
                "published": "2027-04-12T17:00:00Z",
                "chapterhouse:metrics": [{"metric": "participants", "unit": "people", "value": 9}],
            },
            "attributed to",
        ),
    ]
    for obj, words in cases:
        for build in (build_create, build_update):
            reply = await hostile.post(target.inbox, build(hostile.activity_id(), mallory, obj))
            assert reply.status == 403, (build.__name__, obj, reply)
            assert words in reply.detail, (build.__name__, obj, reply.detail)
    await assert_nothing_stored(target.node, before, except_=("RemoteActor",))
    # The same Event sent by the chapter it is attributed to is taken (so the above could pass).
    reply = await hostile.post(
        target.inbox,
        build_create(hostile.activity_id(), eve, cases[0][0]),
        as_actor="eve",
    )
    assert reply.status == 202, reply
    assert set(hostile.gets()) <= {"/actors/mallory", "/actors/eve"}
    await assert_serves_honest(target, honest)


def _report(chapter: str, call_id: str, name: str, value: int) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "id": f"{chapter}/reports/{name}",
        "type": "Note",
        "attributedTo": chapter,
        "inReplyTo": call_id,
        "content": f"{value} people came.",
        "published": "2027-04-12T17:00:00Z",
        "to": [PUBLIC],
        "chapterhouse:reportOf": call_id,
        "chapterhouse:metrics": [
            {"metric": "participants", "unit": "people", "value": value, "method": "counted"}
        ],
    }


async def test_announce_of_a_forged_object_is_never_believed(
    target: Target, hostile: HostileServer, honest: Honest
):
    """Relayed objects count only with their author's valid proof, or as fetched from origin."""
    world = await _chapter_with_call(target, honest)
    chapter = world.chapter.ap_id
    mallory = hostile.actor_id("mallory")
    before = await rows(target.node)

    # 1. An embedded report "by" the honest chapter, without any proof.
    unproven = _report(chapter, world.call_id, "unproven", 1000)
    # 2. A report the chapter really signed (never published), with one number changed after.
    signed = sign_object(
        world.node.services, world.chapter, _report(chapter, world.call_id, "signed", 40)
    )
    broken = copy.deepcopy(signed)
    broken["chapterhouse:metrics"][0]["value"] = 41
    # 3. The call itself, renamed, embedded as if relayed.
    renamed = {**world.call_doc, "name": "Cancelled: stay home"}
    # 4. An unproven report wrapped in a Create "by" the chapter (as some relays forward).
    wrapped = build_create(
        f"{chapter}#forged-create",
        chapter,
        _report(chapter, world.call_id, "wrapped", 500),
    )
    for obj in (unproven, broken, renamed, wrapped):
        announce = build_announce(hostile.activity_id("announce"), mallory, obj["id"])
        announce["object"] = obj
        reply = await hostile.post(target.shared_inbox, announce)
        assert reply.status == 202, reply  # relays are checked when handled, not on arrival
    # 5. Control: the intact signed report, relayed the same way, is believed.
    announce = build_announce(hostile.activity_id("announce"), mallory, signed["id"])
    announce["object"] = signed
    reply = await hostile.post(target.shared_inbox, announce)
    assert reply.status == 202

    async def control_counted() -> bool:
        return (await rows(target.node))["ImpactReport"] == before["ImpactReport"] + 1

    # Items are handled in arrival order, so once the control is in, the forgeries are done.
    await eventually(control_counted, what="the intact relayed report to be stored")
    async with target.node.services.db.read() as session:
        stored = list(await session.scalars(select(ImpactReport)))
        call = await session.scalar(select(ActionCall).where(ActionCall.ap_id == world.call_id))
    assert [(r.ap_id, r.document["chapterhouse:metrics"][0]["value"]) for r in stored] == [
        (signed["id"], 40)
    ]
    assert call is not None and call.title == "Canal clean-up"
    # Without a valid proof the node asked the origin (which knows nothing of these reports).
    fetched = {h.path for h in world.node.hits if h.method == "GET" and h.status == 404}
    assert {
        "/actors/riverside/reports/unproven",
        "/actors/riverside/reports/signed",
        "/actors/riverside/reports/wrapped",
    } <= fetched
    assert set(hostile.gets()) <= {"/actors/mallory"}
    after = await rows(target.node)
    assert after["InboxItem"] == before["InboxItem"] + 5
    await assert_nothing_stored(
        target.node, before, except_=("RemoteActor", "InboxItem", "ImpactReport")
    )
    await assert_serves_honest(target, honest)


async def test_delete_or_update_of_another_actors_object_is_403(
    target: Target, hostile: HostileServer, honest: Honest
):
    world = await _chapter_with_call(target, honest)
    mallory, eve = hostile.actor_id("mallory"), hostile.actor_id("eve")
    before = await rows(target.node)
    for sender in ("mallory", "eve"):
        actor = hostile.actor_id(sender)
        reply = await hostile.post(
            target.shared_inbox,
            build_delete(hostile.activity_id(), actor, world.call_id, "Event"),
            as_actor=sender,
        )
        assert reply.status == 403, (sender, reply)
        assert "does not own" in reply.detail and world.call_id in reply.detail
    # An Update of the call, claiming the honest chapter as author: not the sender's origin.
    forged = {**world.call_doc, "name": "Moved to the motorway"}
    reply = await hostile.post(
        target.shared_inbox, build_update(hostile.activity_id(), mallory, forged)
    )
    assert reply.status == 403 and "origin" in reply.detail
    # ...or claiming the sender: the call is still somebody else's.
    reply = await hostile.post(
        target.shared_inbox,
        build_update(hostile.activity_id(), eve, {**forged, "attributedTo": eve}),
        as_actor="eve",
    )
    assert reply.status == 403
    await asyncio.sleep(0.3)  # give the worker a chance to (wrongly) apply anything
    async with target.node.services.db.read() as session:
        call = await session.scalar(select(ActionCall).where(ActionCall.ap_id == world.call_id))
        cached = await session.scalar(
            select(RemoteActor).where(RemoteActor.ap_id == world.chapter.ap_id)
        )
    assert call is not None and call.status == "CONFIRMED" and call.title == "Canal clean-up"
    assert cached is not None and cached.gone_at is None
    await assert_nothing_stored(target.node, before, except_=("RemoteActor", "InboxItem"))
    only_fetched(hostile, "/actors/mallory", "/actors/eve")
    await assert_serves_honest(target, honest)


async def test_update_of_another_chapters_actor_is_403(
    target: Target, hostile: HostileServer, honest: Honest
):
    world = await _chapter_with_call(target, honest)
    async with target.node.services.db.read() as session:
        cached = await session.scalar(
            select(RemoteActor).where(RemoteActor.ap_id == world.chapter.ap_id)
        )
    assert cached is not None
    original = copy.deepcopy(cached.document)
    mallory = hostile.actor_id("mallory")
    before = await rows(target.node)
    # The honest chapter's document, with the hostile server's key and inbox swapped in.
    hijacked = copy.deepcopy(original)
    hijacked["publicKey"]["publicKeyPem"] = hostile.actor_document("x")["publicKey"]["publicKeyPem"]
    hijacked["inbox"] = hostile.url("/steal")
    reply = await hostile.post(
        target.shared_inbox, build_update(hostile.activity_id(), mallory, hijacked)
    )
    assert reply.status == 403 and "origin" in reply.detail
    # On its own origin: mallory may not update eve (another chapter on the same server).
    eve_doc = hostile.actor_document("eve", kind="Group", name="Eve, now mallory's")
    reply = await hostile.post(
        target.shared_inbox, build_update(hostile.activity_id(), mallory, eve_doc)
    )
    assert reply.status == 403, reply
    assert "cannot update another actor" in reply.detail
    await assert_nothing_stored(target.node, before, except_=("RemoteActor",))
    async with target.node.services.db.read() as session:
        still = await session.scalar(
            select(RemoteActor).where(RemoteActor.ap_id == world.chapter.ap_id)
        )
        eve_rows = list(
            await session.scalars(select(RemoteActor).where(RemoteActor.ap_id == eve_doc["id"]))
        )
    assert still is not None and still.document == original
    assert still.inbox == world.chapter.ap_id + "/inbox"
    assert all(r.document.get("name") != "Eve, now mallory's" for r in eve_rows)
    # Control: eve updating herself is taken.
    reply = await hostile.post(
        target.shared_inbox,
        build_update(hostile.activity_id(), eve_doc["id"], eve_doc),
        as_actor="eve",
    )
    assert reply.status == 202, reply
    # mallory updating herself may not move her inbox or key to another origin.
    moved = hostile.actor_document("mallory", inbox=f"{world.chapter.ap_id}/inbox")
    moved["publicKey"]["id"] = f"{world.chapter.ap_id}#main-key"
    update = build_update(hostile.activity_id(), mallory, moved)
    reply = await hostile.post(target.shared_inbox, update)
    assert reply.status in {202, 403}, reply  # refused now or ignored when handled

    async def handled() -> bool:
        async with target.node.services.db.read() as session:
            item = await session.scalar(
                select(InboxItem).where(InboxItem.activity_id == update["id"])
            )
        return reply.status == 403 or (item is not None and item.state != RECEIVED)

    await eventually(handled, what="mallory's self-update to be handled")
    async with target.node.services.db.read() as session:
        cached = await session.scalar(select(RemoteActor).where(RemoteActor.ap_id == mallory))
    assert cached is not None
    assert cached.inbox == f"{mallory}/inbox" and cached.public_key_id == hostile.key_id("mallory")
    only_fetched(hostile, "/actors/mallory", "/actors/eve")
    await assert_serves_honest(target, honest)


async def test_delete_of_another_chapters_report_before_it_arrives_is_refused(
    target: Target, hostile: HostileServer, honest: Honest
):
    """A Delete naming a report on another origin cannot be mallory's to delete, known or not.

    Were it taken in, a retracted placeholder under mallory's name could make the node refuse
    the real report, when its chapter sends it, as "not the owner's" (found by this suite).
    """
    world = await _chapter_with_call(target, honest)
    chapter = world.chapter.ap_id
    report = _report(chapter, world.call_id, "future", 25)
    mallory = hostile.actor_id("mallory")
    before = await rows(target.node)
    tombstone_delete = build_delete(hostile.activity_id(), mallory, report["id"], "Note")
    reply = await hostile.post(target.shared_inbox, tombstone_delete)
    assert reply.status == 403, reply
    assert report["id"] in reply.detail
    await asyncio.sleep(0.3)
    # The honest chapter's own traffic (a late Accept or Update) may still arrive meanwhile:
    # what matters is that nothing of mallory's was taken in.
    await assert_nothing_stored(target.node, before, except_=("RemoteActor", "InboxItem"))
    async with target.node.services.db.read() as session:
        assert not list(await session.scalars(select(InboxItem).where(InboxItem.actor == mallory)))
    # The real report, sent by its chapter, is stored with its numbers.
    signer = world.node.services.keys.rsa_signer(world.chapter)
    body = orjson.dumps(build_create(world.node.services.activity_id(), chapter, report))
    reply = await send(
        target.shared_inbox,
        body,
        signed_post_headers(
            target.shared_inbox, body, key_id=signer.key_id, key=signer.private_key
        ),
    )
    assert reply.status == 202, reply

    async def stored() -> bool:
        async with target.node.services.db.read() as session:
            row = await session.scalar(
                select(ImpactReport).where(ImpactReport.ap_id == report["id"])
            )
        return row is not None and not row.retracted and row.chapter == chapter

    await eventually(stored, timeout=3, what="the genuine report to be stored")
    only_fetched(hostile, "/actors/mallory")
    await assert_serves_honest(target, honest)
