"""People follow what they belong to: a member added to a chapter (CLI) or joining through its
invitation follows it, and a chapter's organisers see the calls of the campaigns it follows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from node.features.actors.authz import principal_by_name
from node.features.actors.invitations import create_invitation
from node.features.actors.local import create_actor
from storage.models.follow import ACCEPTED
from storage.repositories import actors as actor_repo
from storage.repositories import follows as follow_repo
from tests.federation.conftest import follow_and_wait
from tests.rig.api import call_api
from tests.rig.nodes import Node, acli, eventually
from tests.rig.signin import browser, csrf, get, post

START = datetime.now(UTC) + timedelta(days=5)
CALL = {
    "title": "Canal clean-up",
    "start": START.isoformat(timespec="seconds"),
    "end": (START + timedelta(hours=2)).isoformat(timespec="seconds"),
}


async def _publish(node: Node, token: str, chapter: str, title: str) -> str:
    status, call = await call_api(
        node.base_url,
        token,
        "POST",
        f"/api/v1/chapters/{chapter}/actions",
        {**CALL, "title": title},
    )
    assert status == 201, call
    return str(call["id"])


async def _feed_ids(node: Node, token: str) -> list[str]:
    status, body = await call_api(node.base_url, token, "GET", "/api/v1/feed")
    assert status == 200, body
    return [item["id"] for item in body["items"]]


async def _follow_state(node: Node, follower: str, target: str) -> str | None:
    async with node.services.db.read() as session:
        row = await follow_repo.follow_between(session, follower, target)
    return row.state if row is not None else None


async def test_member_add_with_a_chapter_follows_it(nodes):
    node = await nodes()
    # The chapter approves followers by hand: belonging is approval enough.
    chapter = (await node.chapter("greenpark", approve_followers=True)).actor
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    call_id = await _publish(node, olga.token, "greenpark", "Canal clean-up")
    result = await acli(
        "member", "add", "mia", "--chapter", "greenpark",
        "--data", str(node.data_dir), env=node.cli_env,
    )  # fmt: skip
    token = re.search(r"token: (\S+)", result.stdout)
    assert token, result.stdout
    mia = node.services.ids.actor("mia")
    assert await _follow_state(node, mia, chapter.ap_id) == ACCEPTED
    assert call_id in await _feed_ids(node, token.group(1))
    # A local follow: no activity travelled over HTTP.
    assert node.inbox_hits(ok_only=False) == []


async def test_joining_through_an_invitation_follows_the_chapter(nodes):
    node = await nodes()
    chapter = (await node.chapter("greenpark", title="Green Park Clean-up Crew")).actor
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    await _publish(node, olga.token, "greenpark", "Towpath litter pick")
    async with node.services.db.read() as session:
        organiser = await principal_by_name(session, "olga")
        home = await actor_repo.local_actor_by_name(session, "greenpark")
    assert home is not None
    link = await create_invitation(node.services, organiser, home, "member")
    invite = f"{node.base_url}/invite/{link}"
    async with browser() as nadia:
        token = await csrf(nadia, invite)
        answer = await post(
            nadia, invite, {"csrf": token, "name": "nadia", "password": "a long enough passphrase"}
        )
        assert answer.status == 303, answer
        me = await get(nadia, f"{node.base_url}/me")
    assert me.status == 200
    assert "Towpath litter pick" in me.text  # the chapter's call is in her feed
    assert f'href="{chapter.ap_id}"' in me.text  # and the chapter among her follows
    assert await _follow_state(node, node.services.ids.actor("nadia"), chapter.ap_id) == ACCEPTED


async def test_organisers_feeds_show_the_calls_of_campaigns_their_chapter_follows(nodes):
    hub, chapter_node = await nodes(), await nodes()
    campaign = (await create_actor(hub.services, "climate", "campaign", title="Climate Day")).actor
    cora = await hub.member("cora", role="organiser", chapter="climate")
    await chapter_node.chapter("riverside")
    rosa = await chapter_node.member("rosa", role="organiser", chapter="riverside")
    mo = await chapter_node.member("mo", chapter="riverside")
    await follow_and_wait(chapter_node, "riverside", campaign.ap_id)  # the chapter joins
    own = await _publish(chapter_node, rosa.token, "riverside", "Riverside walk")
    campaign_call = await _publish(hub, cora.token, "climate", "Global day of action")

    async def arrived() -> bool:
        return campaign_call in await _feed_ids(chapter_node, rosa.token)

    await eventually(arrived, timeout=30, what="the campaign's call in the organiser's feed")
    assert own in await _feed_ids(chapter_node, rosa.token)
    # A member who does not organise the chapter sees the chapter's own calls only.
    assert await _feed_ids(chapter_node, mo.token) == [own]
