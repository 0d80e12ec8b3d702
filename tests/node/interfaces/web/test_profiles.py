"""Member profiles and the node's own page: their own templates, no feed links that 404.

A real node on loopback; pages fetched as a browser would (``Accept: text/html``). A member's
profile shows their name and chapters, and their commitments only once they allow it from /me;
the instance actor's page says what the node is and links to its chapters. Feeds (Atom,
iCalendar) belong to chapters and campaigns: where a page links one, it answers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import aiohttp

from node.features.actors.authz import principal_by_name
from node.features.actors.local import create_actor
from node.features.calls.lifecycle import create_action
from node.features.calls.rsvp import rsvp
from node.runtime.services import INSTANCE_ACTOR
from storage.repositories import actors as actor_repo
from tests.node.interfaces.web.test_pages_forms import HTML, _set_password

PASSWORD = "correct horse battery"
FEED_LINK = re.compile(r'href="([^"]+(?:feed\.atom|calendar\.ics))"')


async def world(node) -> str:
    """A chapter with a call, a campaign, and mia, a member of the chapter coming to the call."""
    await node.chapter("greenpark", title="Green Park Crew")
    await node.chapter("riverside", title="Riverside Rewilders")
    await create_actor(node.services, "climate", "campaign", title="Climate Day")
    await node.member("olga", role="organiser", chapter="greenpark")
    await node.member("mia", chapter="greenpark")
    await _set_password(node, "mia", PASSWORD)
    async with node.services.db.read() as session:
        olga = await principal_by_name(session, "olga")
        mia = await principal_by_name(session, "mia")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    call = await create_action(
        node.services,
        olga,
        "greenpark",
        {
            "title": "Saturday litter pick",
            "start": start.isoformat(),
            "end": (start + timedelta(hours=2)).isoformat(),
        },
    )
    assert (await rsvp(node.services, mia, call.ap_id)).state == "accepted"
    return call.ap_id


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url, headers=HTML) as resp:
        return resp.status, await resp.text()


async def sign_in(http: aiohttp.ClientSession, base: str, name: str) -> None:
    _, login = await get(http, f"{base}/login")
    token = re.search(r'name="csrf" value="([^"]+)"', login)
    assert token
    data = {"csrf": token[1], "name": name, "password": PASSWORD}
    async with http.post(f"{base}/login", headers=HTML, data=data) as resp:
        assert resp.status == 200 and "Hello," in await resp.text()


async def show(http: aiohttp.ClientSession, base: str, choice: str) -> tuple[int, str]:
    _, me = await get(http, f"{base}/me")
    token = re.search(r'name="csrf" value="([^"]+)"', me)
    assert token
    data = {"csrf": token[1], "show": choice}
    async with http.post(f"{base}/me/show-commitments", headers=HTML, data=data) as resp:
        return resp.status, await resp.text()


async def shown(node) -> bool:
    async with node.services.db.read() as session:
        actor = await actor_repo.local_actor_by_name(session, "mia")
        assert actor is not None
        return actor.show_commitments


async def test_a_member_page_shows_their_name_and_chapters_and_no_feeds(nodes):
    node = await nodes()
    await world(node)
    async with aiohttp.ClientSession() as http:
        status, page = await get(http, f"{node.base_url}/actors/mia")
        assert status == 200
        assert re.search(r"<h1>\s*mia\s*</h1>", page), page
        assert f"@mia@{node.authority}" in page
        chapters = re.search(r'<section aria-labelledby="chapters-h">(.*?)</section>', page, re.S)
        assert chapters, page
        assert "Green Park Crew" in chapters[1]
        assert f'href="{node.base_url}/actors/greenpark"' in chapters[1]
        assert "Riverside Rewilders" not in chapters[1]  # not one of hers
        # A person has no calls of their own: no Atom or iCalendar links, no follower count.
        assert not FEED_LINK.search(page), FEED_LINK.findall(page)
        assert "followers" not in page
        # Her commitment stays private until she chooses otherwise.
        assert "Saturday litter pick" not in page


async def test_feed_links_are_shown_only_where_they_answer(nodes):
    node = await nodes()
    await world(node)
    pages = ["/actors/greenpark", "/actors/climate", "/actors/mia", f"/actors/{INSTANCE_ACTOR}"]
    linked = []
    async with aiohttp.ClientSession() as http:
        for path in pages:
            status, page = await get(http, node.base_url + path)
            assert status == 200, path
            linked += FEED_LINK.findall(page)
        assert {link.rsplit("/", 2)[1] for link in linked} == {"greenpark", "climate"}, linked
        for link in set(linked):
            async with http.get(link) as resp:
                assert resp.status == 200, link


async def test_the_instance_page_says_what_the_node_is_and_links_its_chapters(nodes):
    node = await nodes()
    await world(node)
    async with aiohttp.ClientSession() as http:
        status, page = await get(http, f"{node.base_url}/actors/{INSTANCE_ACTOR}")
    assert status == 200
    assert "is a Chapterhouse node" in page
    for name, title in (("greenpark", "Green Park Crew"), ("riverside", "Riverside Rewilders")):
        assert f'<a href="{node.base_url}/actors/{name}">{title}</a>' in page
    assert f'href="{node.base_url}/actors/climate"' in page
    assert not FEED_LINK.search(page)
    assert "Follow from my server" not in page and "followers" not in page


async def test_commitments_are_shown_only_when_the_member_allows(nodes):
    node = await nodes()
    call = await world(node)
    profile = f"{node.base_url}/actors/mia"
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as mia,
        aiohttp.ClientSession() as stranger,
    ):
        await sign_in(mia, node.base_url, "mia")
        _, page = await get(stranger, profile)
        assert "Saturday litter pick" not in page and call not in page

        _, me = await get(mia, f"{node.base_url}/me")
        assert "Show my commitments on my profile" in me
        # Anything but yes or no is refused, and changes nothing.
        status, _ = await show(mia, node.base_url, "maybe")
        assert status == 400 and not await shown(node)

        status, me = await show(mia, node.base_url, "yes")
        assert status == 200 and "now shown on your profile" in me
        assert await shown(node)
        _, page = await get(stranger, profile)
        listed = re.search(r'<section aria-labelledby="commitments-h">(.*?)</section>', page, re.S)
        assert listed, page
        assert f'<a href="{call}">Saturday litter pick</a>' in listed[1]

        status, me = await show(mia, node.base_url, "no")
        assert status == 200 and "Show my commitments on my profile" in me
        _, page = await get(stranger, profile)
        assert "Saturday litter pick" not in page and call not in page


async def test_only_the_member_can_change_the_choice(nodes):
    node = await nodes()
    await world(node)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        _, login = await get(http, f"{node.base_url}/login")
        token = re.search(r'name="csrf" value="([^"]+)"', login)
        assert token
        data = {"csrf": token[1], "show": "yes"}
        async with http.post(
            f"{node.base_url}/me/show-commitments", headers=HTML, data=data, allow_redirects=False
        ) as resp:
            assert resp.status == 303 and resp.headers["Location"] == "/login"
        async with http.post(
            f"{node.base_url}/me/show-commitments", headers=HTML, data={"show": "yes"}
        ) as resp:
            assert resp.status == 403
    assert not await shown(node)


async def test_the_new_pages_pass_the_accessibility_basics(nodes):
    from tests.a11y.test_pages_accessibility import CHECKS, parse

    node = await nodes()
    await world(node)
    async with node.services.db.write() as session:
        mia = await actor_repo.local_actor_by_name(session, "mia")
        assert mia is not None
        mia.show_commitments = True
    async with aiohttp.ClientSession() as http:
        for path in ("/actors/mia", f"/actors/{INSTANCE_ACTOR}"):
            _, page = await get(http, node.base_url + path)
            doc = parse(page)
            problems = {name: check(doc) for name, check in CHECKS.items() if check(doc)}
            assert not problems, (path, problems)
