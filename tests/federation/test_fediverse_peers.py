"""Mastodon and Mobilizon shapes: their real payloads follow a chapter, receive calls, RSVP."""

from __future__ import annotations

import pytest

from tests.rig.api import call_api
from tests.rig.foreign import ForeignServer
from tests.rig.http import collection_items, get_json
from tests.rig.nodes import eventually

CALL = {
    "title": "Canal clean-up",
    "start": "2027-04-12T10:00:00+01:00",
    "end": "2027-04-12T13:00:00+01:00",
    "timezone": "Europe/London",
    "place": {"name": "Lock 7"},
    "goal": "Clear the towpath",
    "capacity": 5,
}


@pytest.fixture
async def mastodon():
    server = ForeignServer(("https://framapiaf.org",))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def mobilizon():
    server = ForeignServer(("http://mobilizon2.test", "https://framapiaf.org"))
    await server.start()
    yield server
    await server.stop()


async def _chapter_with_organiser(nodes):
    node = await nodes()
    chapter = (await node.chapter("greenpark")).actor
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    return node, chapter, olga.token


async def test_mastodon_account_follows_and_receives_calls(nodes, mastodon):
    node, chapter, token = await _chapter_with_organiser(nodes)
    actor = mastodon.add_actor("mastodon-actor.json")  # real Mastodon Person, moved here
    follow = mastodon.load("mastodon-follow-activity.json")  # real Mastodon Follow shape
    follow.update({"id": f"{actor['id']}#follows/2", "actor": actor["id"], "object": chapter.ap_id})
    status, _ = await mastodon.send(actor, f"{chapter.ap_id}/inbox", follow)
    assert status == 202

    async def accepted() -> bool:
        return any(a["object"]["id"] == follow["id"] for a in mastodon.of_type("Accept"))

    await eventually(accepted, what="the Accept to reach the Mastodon server")
    followers = await collection_items(f"{chapter.ap_id}/followers")
    assert [f for f in followers if not f.startswith(node.base_url)] == [actor["id"]]  # + olga

    status, call = await call_api(
        node.base_url, token, "POST", "/api/v1/chapters/greenpark/actions", CALL
    )
    assert status == 201

    async def created() -> bool:
        return bool(mastodon.of_type("Create"))

    await eventually(created, what="the Create to reach Mastodon's shared inbox")
    delivery = next(r for r in mastodon.received if r["body"]["type"] == "Create")
    assert delivery["path"] == "/inbox"  # the shared inbox Mastodon advertises
    assert 'headers="(request-target) host date digest"' in delivery["signature"]
    event = delivery["body"]["object"]
    # What Mastodon shows of an Event: name, summary (one line) and a link.
    assert event["name"] == "Canal clean-up"
    assert (
        event["summary"]
        == "Mon 12 Apr 2027 10:00–13:00 (Europe/London) · Lock 7 · Clear the towpath"
    )
    assert event["url"] == call["id"]


async def test_mobilizon_join_and_leave(nodes, mobilizon):
    node, _chapter, token = await _chapter_with_organiser(nodes)
    status, call = await call_api(
        node.base_url, token, "POST", "/api/v1/chapters/greenpark/actions", CALL
    )
    assert status == 201
    person = mobilizon.add_actor("mastodon-actor.json")
    join = mobilizon.load("mobilizon-join-activity.json")  # real Mobilizon Join shape
    join.update(
        {"id": f"{mobilizon.base_url}/join/event/1", "actor": person["id"], "object": call["id"]}
    )
    status, _ = await mobilizon.send(person, f"{node.base_url}/inbox", join)
    assert status == 202

    async def accepted() -> bool:
        return any(a["object"]["id"] == join["id"] for a in mobilizon.of_type("Accept"))

    await eventually(accepted, what="Accept{Join} to reach the Mobilizon server")
    assert (await get_json(call["id"]))["participantCount"] == 1

    leave = mobilizon.load("mobilizon-leave-activity.json")
    leave.update(
        {"id": f"{mobilizon.base_url}/leave/event/1", "actor": person["id"], "object": call["id"]}
    )
    status, _ = await mobilizon.send(person, f"{node.base_url}/inbox", leave)
    assert status == 202

    async def left() -> bool:
        return (await get_json(call["id"]))["participantCount"] == 0

    await eventually(left, what="the Leave to free the place")


async def test_relay_admin_following_the_instance_actor_gets_every_public_call(nodes, mastodon):
    node, _chapter, token = await _chapter_with_organiser(nodes)
    jrd = await get_json(
        f"{node.base_url}/.well-known/webfinger?resource=acct:relay@{node.authority}",
        accept="application/jrd+json",
    )
    relay_id = next(link["href"] for link in jrd["links"] if link["rel"] == "self")
    relay_doc = await get_json(relay_id)
    assert relay_doc["type"] == "Application"
    admin = mastodon.add_actor("mastodon-actor.json")
    follow = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{admin['id']}#follows/relay",
        "type": "Follow",
        "actor": admin["id"],
        "object": relay_id,
    }
    status, _ = await mastodon.send(admin, relay_doc["inbox"], follow)
    assert status == 202

    async def accepted() -> bool:
        return bool(mastodon.of_type("Accept"))

    await eventually(accepted, what="the instance actor to accept the relay follow")
    status, call = await call_api(
        node.base_url, token, "POST", "/api/v1/chapters/greenpark/actions", CALL
    )
    assert status == 201

    async def got_call() -> bool:
        return any(c["object"]["id"] == call["id"] for c in mastodon.of_type("Create"))

    await eventually(got_call, what="the call to reach the relay follower")
