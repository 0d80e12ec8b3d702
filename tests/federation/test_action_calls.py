"""Action calls travel from a chapter to every follower's node; RSVPs travel back."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from storage.models import Delivery, InboxItem, OutboxActivity
from tests.rig.api import call_api
from tests.rig.http import collection_items, get_json
from tests.rig.nodes import Node, eventually

CALL = {
    "title": "Canal clean-up",
    "start": "2027-04-12T10:00:00+01:00",
    "end": "2027-04-12T13:00:00+01:00",
    "timezone": "Europe/London",
    "place": {
        "name": "Lock 7",
        "address": "Towpath, Green Park",
        "latitude": 51.5,
        "longitude": -0.1,
    },
    "goal": "Clear the towpath",
    "targets": [
        {"metric": "kg_litter", "unit": "kg", "target": 200},
        {"metric": "participants", "unit": "people", "target": 50},
    ],
    "description": "<p>Bring gloves</p><script>alert(1)</script>",
}


async def publish(fed, **changes) -> dict:
    status, call = await call_api(
        fed.chapter_node.base_url,
        fed.organiser_token,
        "POST",
        "/api/v1/chapters/greenpark/actions",
        {**CALL, **changes},
    )
    assert status == 201, call
    return call


async def feed(fed, member: str) -> list[dict]:
    status, body = await call_api(
        fed.node_of(member).base_url, fed.tokens[member], "GET", "/api/v1/feed"
    )
    assert status == 200, body
    return body["items"]


async def wait_feed(fed, member: str, predicate, what: str) -> list[dict]:
    items: list[dict] = []

    async def check() -> bool:
        nonlocal items
        items = await feed(fed, member)
        return predicate(items)

    await eventually(check, what=f"{member}'s feed: {what}")
    return items


async def _deliveries_per_inbox(node: Node, activity_type: str) -> dict[str, int]:
    async with node.services.db.read() as session:
        rows = await session.execute(
            select(Delivery.inbox, func.count())
            .join(OutboxActivity, OutboxActivity.id == Delivery.activity_id)
            .where(OutboxActivity.activity_type == activity_type)
            .group_by(Delivery.inbox)
        )
        return {inbox: n for inbox, n in rows}


async def _received(node: Node, activity_type: str) -> int:
    async with node.services.db.read() as session:
        return await session.scalar(
            select(func.count())
            .select_from(InboxItem)
            .where(InboxItem.activity_type == activity_type)
        )


async def test_call_reaches_every_follower_once_and_edits_follow(federation):
    fed = federation
    call = await publish(fed)
    assert call["description"] == "<p>Bring gloves</p>"
    assert call["id"].startswith(fed.chapter_id + "/actions/")

    for member in ("alice", "bob", "carol", "dan"):
        items = await wait_feed(
            fed, member, lambda i: any(x["id"] == call["id"] for x in i), "the call"
        )
        assert items[0]["title"] == "Canal clean-up"
        assert items[0]["place"]["name"] == "Lock 7"
    # One Create per remote inbox: two member nodes, each with a shared inbox.
    per_inbox = await _deliveries_per_inbox(fed.chapter_node, "Create")
    assert per_inbox == {f"{fed.m1.base_url}/inbox": 1, f"{fed.m2.base_url}/inbox": 1}
    assert await _received(fed.m1, "Create") == 1
    assert await _received(fed.m2, "Create") == 1

    ulid = call["id"].rsplit("/", 1)[1]
    status, updated = await call_api(
        fed.chapter_node.base_url,
        fed.organiser_token,
        "PATCH",
        f"/api/v1/chapters/greenpark/actions/{ulid}",
        {"title": "Canal clean-up (moved to Lock 8)", "capacity": 30},
    )
    assert status == 200, updated
    for member in ("alice", "carol"):
        items = await wait_feed(
            fed, member, lambda i: i and i[0]["title"].endswith("Lock 8)"), "the update"
        )
        assert items[0]["capacity"] == 30

    status, cancelled = await call_api(
        fed.chapter_node.base_url,
        fed.organiser_token,
        "POST",
        f"/api/v1/chapters/greenpark/actions/{ulid}/cancel",
    )
    assert status == 200 and cancelled["status"] == "cancelled"
    for member in ("bob", "dan"):
        await wait_feed(
            fed, member, lambda i: i and i[0]["status"] == "cancelled", "the cancellation"
        )
    # Cancelled by an Update (ical:status CANCELLED, as Mobilizon reads it), never a Delete:
    # the edit's Update and the cancellation's, once per inbox.
    assert await _deliveries_per_inbox(fed.chapter_node, "Update") == {i: 2 for i in per_inbox}
    assert await _deliveries_per_inbox(fed.chapter_node, "Delete") == {}

    # A late follower reads the current calls from the outbox.
    outbox = await collection_items(f"{fed.chapter_id}/outbox")
    creates = [a for a in outbox if a["type"] == "Create"]
    assert [a["object"]["id"] for a in creates] == [call["id"]]
    assert creates[0]["object"]["name"] == "Canal clean-up (moved to Lock 8)"
    assert creates[0]["object"]["ical:status"] == "CANCELLED"


async def test_event_shape_for_mastodon_and_mobilizon(federation):
    fed = federation
    call = await publish(fed, capacity=12)
    doc = await get_json(call["id"])
    assert doc["type"] == "Event"
    assert doc["attributedTo"] == fed.chapter_id
    assert doc["name"] == "Canal clean-up"
    assert (
        doc["summary"] == "Mon 12 Apr 2027 10:00–13:00 (Europe/London) · Lock 7 · Clear the towpath"
    )
    assert doc["startTime"] == "2027-04-12T10:00:00+01:00"
    assert doc["timezone"] == "Europe/London"
    assert doc["joinMode"] == "free"
    assert doc["anonymousParticipationEnabled"] is False
    assert doc["maximumAttendeeCapacity"] == 12
    assert doc["remainingAttendeeCapacity"] == 12
    assert doc["participantCount"] == 0
    assert doc["ical:status"] == "CONFIRMED"
    assert doc["location"]["address"]["type"] == "PostalAddress"
    assert doc["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
    assert doc["cc"] == [f"{fed.chapter_id}/followers"]
    async with (
        __import__("aiohttp").ClientSession() as s,
        s.get(call["id"], headers={"Accept": "text/html"}) as r,
    ):
        page = await r.text()
    assert r.status == 200 and "Canal clean-up" in page and "<script>" not in page


async def _participants(fed, call_id: str, node: Node) -> int:
    async with node.services.db.read() as session:
        from storage.repositories import actions as action_repo

        row = await action_repo.call_by_ap_id(session, call_id)
        return -1 if row is None else row.participant_count


async def commitments(fed, member: str) -> dict[str, str]:
    status, body = await call_api(
        fed.node_of(member).base_url, fed.tokens[member], "GET", "/api/v1/commitments"
    )
    assert status == 200
    return {c["call"]: c["state"] for c in body["items"]}


async def rsvp(fed, member: str, call_id: str) -> tuple[int, dict]:
    return await call_api(
        fed.node_of(member).base_url, fed.tokens[member], "POST", "/api/v1/rsvps", {"call": call_id}
    )


async def test_rsvps_from_two_nodes_and_the_race_for_the_last_place(federation):
    fed = federation
    call = await publish(fed, capacity=2)
    call_id = call["id"]
    await wait_feed(fed, "alice", lambda i: bool(i), "the call")
    await wait_feed(fed, "carol", lambda i: bool(i), "the call")

    status, body = await rsvp(fed, "alice", call_id)
    assert (status, body["state"]) == (202, "pending")

    async def alice_in() -> bool:
        return (await commitments(fed, "alice")).get(call_id) == "accepted"

    await eventually(alice_in, what="alice's RSVP to be accepted")

    # bob (node 1) and carol (node 2) race for the one place left.
    await asyncio.gather(rsvp(fed, "bob", call_id), rsvp(fed, "carol", call_id))

    async def both_answered() -> bool:
        states = [(await commitments(fed, m)).get(call_id) for m in ("bob", "carol")]
        return all(s in {"accepted", "waitlisted"} for s in states)

    await eventually(both_answered, what="both racing RSVPs to be answered")
    states = sorted([(await commitments(fed, m))[call_id] for m in ("bob", "carol")])
    assert states == ["accepted", "waitlisted"]  # the full call keeps a waiting list
    assert await _participants(fed, call_id, fed.chapter_node) == 2
    doc = await get_json(call_id)
    assert (doc["participantCount"], doc["remainingAttendeeCapacity"]) == (2, 0)
    # Rebuilt documents keep the organiser's local time.
    assert doc["startTime"] == "2027-04-12T10:00:00+01:00"
    assert doc["summary"].startswith("Mon 12 Apr 2027 10:00–13:00 (Europe/London)")

    path = f"/api/v1/chapters/greenpark/actions/{call_id.rsplit('/', 1)[1]}/participants"
    status, listed = await call_api(fed.chapter_node.base_url, fed.organiser_token, "GET", path)
    winner = "bob" if (await commitments(fed, "bob"))[call_id] == "accepted" else "carol"
    loser = "carol" if winner == "bob" else "bob"
    assert status == 200
    assert {p["actor"]: p["state"] for p in listed["items"]} == {
        fed.member_ids["alice"]: "accepted",
        fed.member_ids[winner]: "accepted",
        fed.member_ids[loser]: "waitlisted",
    }
    nosy = await fed.chapter_node.member("nosy")
    assert (await call_api(fed.chapter_node.base_url, nosy.token, "GET", path))[0] == 403

    # The updated count reaches followers' copies.
    async def m2_sees_two() -> bool:
        return await _participants(fed, call_id, fed.m2) == 2

    await eventually(m2_sees_two, what="node 2 to learn the count")

    # alice leaves; her place goes at once to the one waiting for it.
    status, body = await call_api(
        fed.m1.base_url, fed.tokens["alice"], "DELETE", f"/api/v1/rsvps?call={call_id}"
    )
    assert (status, body["state"]) == (200, "left")

    async def loser_in() -> bool:
        return (await commitments(fed, loser)).get(call_id) == "accepted"

    await eventually(loser_in, what="the freed place to go to the waiting list")
    assert await _participants(fed, call_id, fed.chapter_node) == 2


async def test_rsvp_to_cancelled_call_is_rejected_and_nothing_stored(federation):
    fed = federation
    call = await publish(fed)
    await wait_feed(fed, "dan", lambda i: bool(i), "the call")
    ulid = call["id"].rsplit("/", 1)[1]
    await call_api(
        fed.chapter_node.base_url,
        fed.organiser_token,
        "POST",
        f"/api/v1/chapters/greenpark/actions/{ulid}/cancel",
    )
    await wait_feed(fed, "dan", lambda i: i[0]["status"] == "cancelled", "the cancellation")
    await rsvp(fed, "dan", call["id"])

    async def rejected() -> bool:
        return (await commitments(fed, "dan")).get(call["id"]) == "rejected"

    await eventually(rejected, what="the RSVP to a cancelled call to be rejected")
    assert await _participants(fed, call["id"], fed.chapter_node) == 0


async def test_calendar_feed_parses(federation):
    import icalendar

    fed = federation
    first = await publish(fed)
    second = await publish(
        fed,
        title="Letter night",
        start="2027-05-01T18:00:00+02:00",
        end="2027-05-01T20:00:00+02:00",
        timezone="Europe/Paris",
        place=None,
        online_url="https://meet.example/letters",
    )
    import aiohttp

    async with aiohttp.ClientSession() as s, s.get(f"{fed.chapter_id}/calendar.ics") as r:
        assert r.status == 200 and r.content_type == "text/calendar"
        cal = icalendar.Calendar.from_ical(await r.read())
    events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {first["id"], second["id"]}
    assert str(events[first["id"]]["summary"]) == "Canal clean-up"
    start = events[first["id"]].decoded("dtstart")
    assert start.isoformat() == "2027-04-12T10:00:00+01:00"
    assert str(start.tzinfo) == "Europe/London"
    assert len(list(cal.walk("VTIMEZONE"))) == 2
    assert str(events[second["id"]]["location"]) == "https://meet.example/letters"


async def test_a_member_who_follows_later_sees_current_calls(federation, nodes):
    fed = federation
    call = await publish(fed)
    ulid = call["id"].rsplit("/", 1)[1]
    await call_api(
        fed.chapter_node.base_url,
        fed.organiser_token,
        "PATCH",
        f"/api/v1/chapters/greenpark/actions/{ulid}",
        {"title": "Canal clean-up, day 1"},
    )
    late_node = await nodes()
    erin = await late_node.member("erin")
    from tests.federation.conftest import follow_and_wait

    await follow_and_wait(late_node, "erin", fed.chapter_id)

    async def backfilled() -> bool:
        status, body = await call_api(late_node.base_url, erin.token, "GET", "/api/v1/feed")
        return status == 200 and [i["title"] for i in body["items"]] == ["Canal clean-up, day 1"]

    await eventually(backfilled, what="the late follower's feed to show the current call")
