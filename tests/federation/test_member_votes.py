"""A member of one Chapterhouse node answers another node's RSVP poll, the way a Mastodon user
does (a vote, not a Join), on real nodes over loopback.

"Going" makes the voter a participant on the chapter's node and a pending commitment on their
own; the chapter answers by direct message, which the member's node turns into the
commitment's state (accepted, or waitlisted on a full call) and one notification. "Can't make
it" gives the place back. A vote for an option the poll does not offer is refused before
anything is sent or stored.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from node.features.actors.authz import Principal
from node.features.calls.polls import publish_poll
from node.features.calls.polls_out import vote
from node.features.calls.rsvp import RsvpError
from storage.models import Commitment, Notification, Participant
from storage.repositories import actors as actor_repo
from tests.rig.api import call_api
from tests.rig.nodes import Node, eventually

CALL = {
    "title": "Canal clean-up",
    "start": "2031-04-12T10:00:00+01:00",
    "end": "2031-04-12T13:00:00+01:00",
    "timezone": "Europe/London",
}


async def _who(node: Node, name: str) -> Principal:
    async with node.services.db.read() as session:
        actor = await actor_repo.local_actor_by_name(session, name)
    assert actor is not None
    return Principal(actor=actor, role="organiser")


async def _state(node: Node, member: str, call: str) -> str | None:
    async with node.services.db.read() as session:
        actor = await actor_repo.local_actor_by_name(session, member)
        assert actor is not None
        return await session.scalar(
            select(Commitment.state).where(
                Commitment.member_id == actor.id, Commitment.call == call
            )
        )


async def _places(node: Node) -> dict[str, str]:
    async with node.services.db.read() as session:
        rows = await session.execute(select(Participant.actor, Participant.state))
        return {actor: state for actor, state in rows}


async def _kinds(node: Node, recipient: str) -> list[str]:
    async with node.services.db.read() as session:
        rows = await session.scalars(
            select(Notification.kind).where(Notification.recipient == recipient)
        )
        return sorted(rows)


async def test_a_member_elsewhere_votes_going_then_cannot_make_it(nodes) -> None:
    host, home = await nodes(), await nodes()
    await host.chapter("greenpark", title="Green Park")
    olga = await host.member("olga", role="organiser", chapter="greenpark")
    assert olga.token is not None
    status, body = await call_api(
        host.base_url, olga.token, "POST", "/api/v1/chapters/greenpark/actions",
        {**CALL, "capacity": 1},
    )  # fmt: skip
    assert status == 201, body
    call = body["id"]
    row = await publish_poll(host.services, await _who(host, "olga"), call)
    assert row.poll is not None
    ada = (await home.member("ada")).actor.ap_id
    ben = (await home.member("ben")).actor.ap_id

    with pytest.raises(RsvpError, match="not an option"):
        await vote(home.services, await _who(home, "ada"), row.poll, "Maybe")
    assert await _state(home, "ada", call) is None

    sent = await vote(home.services, await _who(home, "ada"), row.poll, "Going")
    assert (sent.call, sent.state) == (call, "pending")

    async def ada_accepted() -> bool:
        return await _state(home, "ada", call) == "accepted"

    await eventually(ada_accepted, timeout=30, what="ada's vote to be answered: accepted")
    assert (await _places(host)).get(ada) == "accepted"
    assert await _kinds(home, ada) == ["rsvp_accepted"]

    await vote(home.services, await _who(home, "ben"), row.poll, "Going")

    async def ben_waits() -> bool:
        return await _state(home, "ben", call) == "waitlisted"

    await eventually(ben_waits, timeout=30, what="ben to be told the call is full")
    assert (await _places(host)).get(ben) == "waitlisted"

    left = await vote(home.services, await _who(home, "ada"), row.poll, "Can't make it")
    assert left.state == "left"

    async def ben_promoted() -> bool:
        return await _state(home, "ben", call) == "accepted"

    await eventually(ben_promoted, timeout=30, what="ben to get ada's place")
    places = await _places(host)
    assert ada not in places and places[ben] == "accepted"
    assert "rsvp_promoted" in await _kinds(home, ben)
