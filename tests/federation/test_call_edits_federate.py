"""An edited call reaches followers' nodes as one instant in one zone, and an edit that gives
only some fields leaves the rest of every copy as it was (issue 15).

Three real nodes on loopback (tests/federation/conftest.py): the chapter's, and two member
nodes whose members follow it. The organiser edits through the API; the copies are read on the
member nodes as their members see them (their feed API) and as stored.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from protocol.events import parse_event, summary_line
from storage.models import ActionCall as CallRow
from tests.rig.api import call_api
from tests.rig.nodes import Node, eventually

ACTIONS = "/api/v1/chapters/greenpark/actions"
CALL = {
    "title": "Canal clean-up",
    "start": "2027-07-12T10:00",
    "end": "2027-07-12T13:00",
    "timezone": "Europe/London",
    "place": {
        "name": "Lock 7",
        "address": "Towpath, Green Park",
        "latitude": 51.5,
        "longitude": -0.1,
    },
    "targets": [
        {"metric": "participants", "unit": "people", "target": 50},
        {"metric": "kg_litter", "unit": "kg", "target": 200},
    ],
    "tags": ["canal"],
}


async def stored_copy(node: Node, call_id: str) -> dict | None:
    async with node.services.db.read() as session:
        row = await session.scalar(select(CallRow).where(CallRow.ap_id == call_id))
    return None if row is None else dict(row.document)


async def test_a_remote_copy_after_an_edit_shows_the_same_instant_and_zone(federation):
    fed = federation
    origin = fed.chapter_node.base_url
    status, call = await call_api(origin, fed.organiser_token, "POST", ACTIONS, CALL)
    assert status == 201, call
    path = f"{ACTIONS}/{call['id'][-26:]}"

    # Moved to the night the clocks go forward, given as local times; and a new title.
    status, edited = await call_api(
        origin,
        fed.organiser_token,
        "PATCH",
        path,
        {"title": "Night canal clean-up", "start": "2027-03-28T00:30", "end": "2027-03-28T03:00"},
    )
    assert status == 200, edited
    assert (edited["start"], edited["end"]) == (
        "2027-03-28T00:30:00+00:00",
        "2027-03-28T03:00:00+01:00",
    )
    span = "Sun 28 Mar 2027 00:30–03:00 (Europe/London)"
    assert edited["summary"].startswith(span)

    for member in ("alice", "carol"):
        node = fed.node_of(member)

        async def updated(node: Node = node) -> bool:
            doc = await stored_copy(node, call["id"])
            return doc is not None and doc.get("name") == "Night canal clean-up"

        await eventually(updated, what=f"the edit at {member}'s node")
        copy = parse_event(await stored_copy(node, call["id"]), allow_http=True)
        assert copy.start == datetime(2027, 3, 28, 0, 30, tzinfo=UTC)
        assert copy.end == datetime(2027, 3, 28, 2, 0, tzinfo=UTC)
        assert copy.timezone == "Europe/London"
        assert summary_line(copy) == edited["summary"]
        # The fields the edit did not give are as they were on every copy.
        assert copy.place is not None
        assert (copy.place.name, copy.place.address) == ("Lock 7", "Towpath, Green Park")
        assert (copy.place.latitude, copy.place.longitude) == (51.5, -0.1)
        assert [t.metric for t in copy.targets] == ["participants", "kg_litter"]
        assert copy.tags == ("canal",)

        # What the member sees in their feed, on their own node.
        status, body = await call_api(node.base_url, fed.tokens[member], "GET", "/api/v1/feed")
        assert status == 200, body
        item = next(i for i in body["items"] if i["id"] == call["id"])
        assert (item["start"], item["end"], item["timezone"]) == (
            edited["start"],
            edited["end"],
            "Europe/London",
        )
        assert item["summary"] == edited["summary"]
        assert item["place"]["address"] == "Towpath, Green Park"
