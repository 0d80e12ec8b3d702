"""An adopted call follows its campaign's call where the chapter left it alone (issue 15).

Real nodes on loopback: the campaign's node, a chapter's node (the chapter follows the
campaign and adopts its call) and a member's node (alice follows the chapter and RSVPs to
its adopted call). The campaign's Update reaches the chapter's node; the adopted call takes the
fields the chapter did not change, and the chapter's Update reaches alice. A field both
changed is shown to the chapter's organisers, who choose on the call's page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from node.features.actors.authz import principal_by_name
from node.features.actors.local import create_actor
from node.features.calls.lifecycle import adopt_action
from storage.repositories import actions as action_repo
from tests.federation.conftest import follow_and_wait
from tests.rig.api import call_api
from tests.rig.nodes import Node, eventually
from tests.rig.signin import browser, csrf, get, login, post, set_password

CALL = {
    "title": "Climate Day river clean-up",
    "start": "2027-06-12T10:00:00+00:00",
    "end": "2027-06-12T13:00:00+00:00",
    "description": "<p>Bring gloves.</p>",
}
MOVED = {"start": "2027-06-19T09:00:00+00:00", "end": "2027-06-19T12:00:00+00:00"}


@dataclass
class World:
    hub: Node
    chapter_node: Node
    member_node: Node
    maya: str  # the campaign organiser's token
    olga: str  # the chapter organiser's token
    alice: str
    campaign_call: str
    adopted: str

    async def campaign_edit(self, changes: dict) -> None:
        ulid = self.campaign_call.rsplit("/", 1)[1]
        status, body = await call_api(
            self.hub.base_url, self.maya, "PATCH", f"/api/v1/chapters/climate/actions/{ulid}",
            changes,
        )  # fmt: skip
        assert status == 200, body

    async def chapter_edit(self, changes: dict) -> None:
        ulid = self.adopted.rsplit("/", 1)[1]
        status, body = await call_api(
            self.chapter_node.base_url, self.olga, "PATCH",
            f"/api/v1/chapters/greenpark/actions/{ulid}", changes,
        )  # fmt: skip
        assert status == 200, body

    async def adopted_call(self) -> dict:
        ulid = self.adopted.rsplit("/", 1)[1]
        status, body = await call_api(
            self.chapter_node.base_url, self.olga, "GET",
            f"/api/v1/chapters/greenpark/actions/{ulid}",
        )  # fmt: skip
        assert status == 200, body
        return body

    async def adoption(self) -> dict:
        async with self.chapter_node.services.db.read() as session:
            row = await action_repo.call_by_ap_id(session, self.adopted)
        assert row is not None
        return row.adoption

    async def alices_commitment(self) -> dict:
        status, body = await call_api(
            self.member_node.base_url, self.alice, "GET", "/api/v1/commitments"
        )
        assert status == 200, body
        return next(c for c in body["items"] if c["call"] == self.adopted)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def _world(nodes, *, same_node: bool = False) -> World:
    hub = await nodes()
    await create_actor(hub.services, "climate", "campaign", title="Climate Day")
    maya = await hub.member("maya", role="organiser", chapter="climate")
    chapter_node = hub if same_node else await nodes()
    chapter = (await chapter_node.chapter("greenpark", title="Green Park")).actor
    olga = await chapter_node.member("olga", role="organiser", chapter="greenpark")
    campaign_id = hub.services.ids.actor("climate")
    if not same_node:
        await follow_and_wait(chapter_node, "greenpark", campaign_id)  # it joins the campaign
    member_node = await nodes()
    alice = await member_node.member("alice")
    await follow_and_wait(member_node, "alice", chapter.ap_id)
    status, call = await call_api(
        hub.base_url, maya.token, "POST", "/api/v1/chapters/climate/actions", CALL
    )
    assert status == 201, call

    async def chapter_has_it() -> bool:
        async with chapter_node.services.db.read() as session:
            return await action_repo.call_by_ap_id(session, call["id"]) is not None

    await eventually(chapter_has_it, what="the campaign's call to reach the chapter's node")
    async with chapter_node.services.db.read() as session:
        organiser = await principal_by_name(session, "olga")
    adopted = (await adopt_action(chapter_node.services, organiser, call["id"], "greenpark")).ap_id
    world = World(
        hub, chapter_node, member_node, maya.token, olga.token, alice.token, call["id"], adopted
    )
    status, body = await call_api(
        member_node.base_url, alice.token, "POST", "/api/v1/rsvps", {"call": adopted}
    )
    assert status == 202, body

    async def accepted() -> bool:
        return (await world.alices_commitment())["state"] == "accepted"

    await eventually(accepted, what="alice's RSVP to the adopted call to be accepted")
    return world


async def test_an_adopted_call_follows_the_campaigns_reschedule(nodes):
    w = await _world(nodes)
    await w.campaign_edit({**MOVED, "description": "<p>Bring gloves and boots.</p>"})

    async def followed() -> bool:
        call = await w.adopted_call()
        return instant(call["start"]) == instant(MOVED["start"])

    await eventually(followed, timeout=30, what="the adopted call to take the campaign's time")
    call = await w.adopted_call()
    assert instant(call["end"]) == instant(MOVED["end"])
    assert call["description"] == "<p>Bring gloves and boots.</p>"
    assert call["title"] == CALL["title"]
    assert (await w.adoption())["changed"] == []

    # The chapter sent its call again: alice's node has the new time.
    async def alice_sees_it() -> bool:
        found = await w.alices_commitment()
        return found["start"] is not None and instant(found["start"]) == instant(MOVED["start"])

    await eventually(alice_sees_it, timeout=30, what="alice's commitment to show the new time")
    assert (await w.alices_commitment())["state"] == "accepted"


async def test_a_title_the_chapter_changed_is_kept_while_the_time_follows(nodes):
    w = await _world(nodes)
    await w.chapter_edit({"title": "Green Park's river clean-up"})
    await w.campaign_edit(MOVED)

    async def followed() -> bool:
        return instant((await w.adopted_call())["start"]) == instant(MOVED["start"])

    await eventually(followed, timeout=30, what="the adopted call to take the campaign's time")
    call = await w.adopted_call()
    assert call["title"] == "Green Park's river clean-up"
    adoption = await w.adoption()
    assert adoption["changed"] == ["title"]
    assert adoption["conflicts"] == {}


async def test_a_field_both_changed_is_shown_and_the_organisers_choose(nodes):
    w = await _world(nodes)
    await w.chapter_edit(
        {"title": "Green Park's river clean-up", "description": "<p>Meet at the gate.</p>"}
    )
    await w.campaign_edit(
        {**MOVED, "title": "Climate Day: rivers", "description": "<p>Bring boots.</p>"}
    )

    async def followed() -> bool:
        return instant((await w.adopted_call())["start"]) == instant(MOVED["start"])

    await eventually(followed, timeout=30, what="the adopted call to take the campaign's time")
    call = await w.adopted_call()
    assert call["title"] == "Green Park's river clean-up"  # ours, until the organisers choose
    assert call["description"] == "<p>Meet at the gate.</p>"
    adoption = await w.adoption()
    assert set(adoption["conflicts"]) == {"title", "description"}

    # The organisers see both conflicts on the call's page (others do not).
    await set_password(w.chapter_node, "olga")
    async with browser() as http:
        assert (await login(http, w.chapter_node, "olga")).status == 303
        page = (await get(http, w.adopted)).text
        assert "The campaign changed what you had changed" in page
        assert "Climate Day: rivers" in page and "Bring boots." in page
        assert page.count('action="' + w.adopted + '/adoption"') == 2
        token = await csrf(http, w.adopted)
        url = f"{w.adopted}/adoption"
        # A choice that is not one is refused, and changes nothing.
        refused = await post(http, url, {"csrf": token, "field": "title", "choice": "both"})
        assert refused.status == 422
        refused = await post(http, url, {"csrf": token, "field": "goal", "choice": "theirs"})
        assert refused.status == 422
        missing_csrf = await post(http, url, {"field": "title", "choice": "theirs"})
        assert missing_csrf.status == 403
        assert set((await w.adoption())["conflicts"]) == {"title", "description"}

        taken = await post(http, url, {"csrf": token, "field": "title", "choice": "theirs"})
        assert taken.status == 303 and taken.location == w.adopted
        kept = await post(http, url, {"csrf": token, "field": "description", "choice": "ours"})
        assert kept.status == 303
        page = (await get(http, w.adopted)).text
        assert "The campaign changed what you had changed" not in page
    async with __import__("aiohttp").ClientSession() as anonymous:
        page = (await get(anonymous, w.adopted)).text
        assert re.search(r"<h1>Climate Day: rivers</h1>", page), page
        assert "adoption" not in page

    call = await w.adopted_call()
    assert call["title"] == "Climate Day: rivers"
    assert call["description"] == "<p>Meet at the gate.</p>"
    adoption = await w.adoption()
    assert adoption["conflicts"] == {} and adoption["changed"] == ["description"]

    async def alice_sees_it() -> bool:
        return (await w.alices_commitment())["title"] == "Climate Day: rivers"

    await eventually(alice_sees_it, timeout=30, what="the chosen title to reach alice's node")


async def test_a_campaign_on_the_same_node_is_followed_too(nodes):
    w = await _world(nodes, same_node=True)
    await w.campaign_edit(MOVED)

    async def followed() -> bool:
        return instant((await w.adopted_call())["start"]) == instant(MOVED["start"])

    await eventually(followed, timeout=30, what="the adopted call on the same node to follow")

    async def alice_sees_it() -> bool:
        found = await w.alices_commitment()
        return found["start"] is not None and instant(found["start"]) == instant(MOVED["start"])

    await eventually(alice_sees_it, timeout=30, what="alice's commitment to show the new time")
