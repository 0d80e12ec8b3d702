"""The campaign page's members and exclusions: organisers approve chapters and leave reports or
chapters out of the totals (with a reason) and count them again; everyone sees what is left out
and why, but only the campaign's organisers get the forms."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp

from node.features.actors.authz import local_chapter, principal_by_name
from node.features.actors.local import create_actor
from node.features.calls.lifecycle import adopt_action, create_action
from node.features.following.approval import approve_follower
from node.features.following.follow import follow
from node.features.impact.campaigns import campaign_totals
from node.features.impact.exclusions import exclude, list_exclusions, members
from node.features.impact.reports import create_report, parse_metric_args
from tests.node.interfaces.web.test_pages_forms import HTML, _set_password
from tests.rig.nodes import Node

PASSWORD = "correct horse battery"
NOW = datetime.now(UTC).replace(microsecond=0)
CALL = {  # under way: an action is reported on once it has started
    "title": "Global litter pick",
    "start": (NOW - timedelta(hours=2)).isoformat(),
    "end": (NOW + timedelta(hours=1)).isoformat(),
}
REASON = "Counted twice: the regional campaign reports these numbers"
FORM_ACTIONS = ("/members/approve", "/exclusions", "/exclusions/include")


@dataclass
class World:
    node: Node
    campaign: str  # the campaign's IRI
    chapter: str  # the chapter's IRI

    async def browser(self, name: str | None = None) -> aiohttp.ClientSession:
        """A browser, signed in as ``name`` (or anonymous)."""
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        if name is not None:
            token = csrf(await self.text(http, f"{self.node.base_url}/login"))
            login = {"csrf": token, "name": name, "password": PASSWORD}
            async with http.post(f"{self.node.base_url}/login", headers=HTML, data=login) as r:
                assert r.status == 200 and "Hello," in await r.text()
        return http

    @staticmethod
    async def text(http: aiohttp.ClientSession, url: str) -> str:
        async with http.get(url, headers=HTML) as resp:
            assert resp.status == 200, resp.status
            return await resp.text()

    async def post(
        self, http: aiohttp.ClientSession, part: str, data: dict[str, str]
    ) -> tuple[int, str]:
        """Post one of the campaign page's forms, with the page's CSRF token."""
        token = csrf(await self.text(http, self.campaign))
        url = f"{self.campaign}/{part}"
        async with http.post(url, headers=HTML, data={"csrf": token, **data}) as resp:
            return resp.status, await resp.text()

    async def totals(self) -> dict[str, object]:
        found = await campaign_totals(self.node.services, "climate")
        return {str(t["metric"]): t["value"] for t in found.totals}

    async def states(self) -> dict[str, str]:
        return {m.chapter: m.state for m in await members(self.node.services, "climate")}


def csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page
    return match[1]


def section(page: str, heading_id: str) -> str | None:
    """The text of the page's section labelled by ``heading_id``, or None."""
    match = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', page, flags=re.S)
    return html.unescape(match[1]) if match else None


def forms(page: str) -> list[str]:
    """The actions of the page's member and exclusion forms."""
    return [a for a in re.findall(r'<form[^>]*action="([^"]+)"', page) if a.endswith(FORM_ACTIONS)]


async def campaign_world(nodes) -> World:
    """A campaign that approves its chapters by hand, and a chapter that asked to join."""
    node = await nodes()
    services = node.services
    campaign = await create_actor(
        services, "climate", "campaign", title="Climate Day", approve_followers=True
    )
    chapter = await node.chapter("greenpark", title="Green Park Crew")
    await node.member("cora", role="organiser", chapter="climate")
    await node.member("olga", role="organiser", chapter="greenpark")
    for name in ("cora", "olga"):
        await _set_password(node, name, PASSWORD)
    joined = await follow(services, "greenpark", campaign.actor.ap_id)
    assert joined.state == "pending"
    return World(node, campaign.actor.ap_id, chapter.actor.ap_id)


async def report_42(world: World) -> str:
    """The campaign's call, adopted by the chapter and reported on: 42 people counted."""
    services = world.node.services
    async with services.db.read() as session:
        cora = await principal_by_name(session, "cora")
        olga = await principal_by_name(session, "olga")
    campaign_call = await create_action(services, cora, "climate", CALL)
    adopted = await adopt_action(services, olga, campaign_call.ap_id, "greenpark")
    report = await create_report(
        services,
        olga,
        adopted.ap_id,
        parse_metric_args(["participants=42:people"], "counted"),
        None,
    )
    return report.ap_id


async def test_an_organiser_approves_a_chapter_excludes_it_and_includes_it_again(nodes):
    world = await campaign_world(nodes)
    http = await world.browser("cora")
    try:
        page = await world.text(http, world.campaign)
        listed = section(page, "members-h")
        assert listed is not None, page
        assert "Green Park Crew" in listed and "(pending)" in listed, listed
        assert f"{world.campaign}/members/approve" in forms(page)

        status, page = await world.post(http, "members/approve", {"chapter": world.chapter})
        assert status == 200, page
        assert "Approved: Green Park Crew is now a member of the campaign." in html.unescape(page)
        assert await world.states() == {world.chapter: "accepted"}
        listed = section(page, "members-h")
        assert listed is not None and "(accepted)" in listed and "Approve" not in listed

        # The member's report counts, until the organiser leaves the chapter out.
        await report_42(world)
        assert await world.totals() == {"participants": 42}
        status, page = await world.post(
            http, "exclusions", {"target": world.chapter, "reason": REASON}
        )
        assert status == 200, page
        assert "Left Green Park Crew out of the totals (1 report taken out)" in page
        excluded = section(page, "excluded-h")
        assert excluded is not None and "Green Park Crew" in excluded and REASON in excluded
        assert f"{world.campaign}/exclusions/include" in forms(page)
        assert await world.totals() == {}
        assert await world.states() == {world.chapter: "excluded"}
        assert [
            (e.target, e.reason) for e in await list_exclusions(world.node.services, "climate")
        ] == [(world.chapter, REASON)]

        status, page = await world.post(http, "exclusions/include", {"target": world.chapter})
        assert status == 200, page
        assert "Counting Green Park Crew again (1 report back in the totals)." in page
        excluded = section(page, "excluded-h")
        assert excluded is not None and REASON not in excluded and "Nothing is left out" in excluded
        assert await world.totals() == {"participants": 42}
        assert await list_exclusions(world.node.services, "climate") == []
    finally:
        await http.close()


async def test_everyone_sees_what_is_left_out_and_why_but_only_organisers_get_the_forms(nodes):
    world = await campaign_world(nodes)
    services = world.node.services
    async with services.db.read() as session:
        cora = await principal_by_name(session, "cora")
        campaign = await local_chapter(session, "climate")
    await approve_follower(services, cora, campaign, world.chapter)
    await exclude(services, cora, "climate", world.chapter, REASON)

    organiser = await world.browser("cora")
    anonymous = await world.browser()
    # An organiser, but of the chapter, not of the campaign.
    other = await world.browser("olga")
    try:
        page = await world.text(organiser, world.campaign)
        assert sorted(forms(page)) == [
            f"{world.campaign}/exclusions",
            f"{world.campaign}/exclusions/include",
        ]
        assert "(excluded)" in (section(page, "members-h") or "")

        for http in (anonymous, other):
            page = await world.text(http, world.campaign)
            excluded = section(page, "excluded-h")
            assert excluded is not None, page
            assert "Green Park Crew" in excluded and REASON in excluded, excluded
            assert forms(page) == [], forms(page)
            assert "Include again" not in page and "Exclude a report or chapter" not in page
            assert section(page, "members-h") is None

        # The forms' routes refuse whoever does not organise the campaign.
        status, page = await world.post(other, "exclusions/include", {"target": world.chapter})
        assert status == 403 and "only organisers of climate" in page, (status, page)
        status, page = await world.post(
            other, "exclusions", {"target": world.campaign, "reason": "mine now"}
        )
        assert status == 403, (status, page)
        assert [e.target for e in await list_exclusions(services, "climate")] == [world.chapter]
        async with anonymous.post(f"{world.campaign}/exclusions/include", headers=HTML) as resp:
            assert resp.status == 403 and "CSRF" in await resp.text()  # no token, no change
        assert [e.target for e in await list_exclusions(services, "climate")] == [world.chapter]
    finally:
        for http in (organiser, anonymous, other):
            await http.close()


async def test_refusals_say_what_is_wrong_and_change_nothing(nodes):
    world = await campaign_world(nodes)
    http = await world.browser("cora")
    try:
        for reason in ("", "   "):
            status, page = await world.post(
                http, "exclusions", {"target": world.chapter, "reason": reason}
            )
            assert status == 422, (status, page)
            assert "say why: an exclusion is published with its reason" in page, page
        status, page = await world.post(
            http, "exclusions", {"target": "greenpark", "reason": REASON}
        )
        assert status == 422 and "address (IRI)" in page, (status, page)
        assert await list_exclusions(world.node.services, "climate") == []

        status, page = await world.post(http, "exclusions/include", {"target": world.chapter})
        assert status == 404, (status, page)
        assert f"{world.chapter} is not excluded from climate" in page, page

        # Approving a chapter that never asked to join, or twice.
        status, page = await world.post(
            http, "members/approve", {"chapter": f"{world.node.base_url}/actors/nobody"}
        )
        assert status == 404 and "has no pending request" in page, (status, page)
        assert await world.states() == {world.chapter: "pending"}
    finally:
        await http.close()
