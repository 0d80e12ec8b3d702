"""The node as a newcomer meets it, on a real node: the front page lists the next calls of all
its chapters (soonest first, each in its own zone's local time, with its chapter named); the
node has a name (its host unless set) used in NodeInfo and in every page title; and a browser
that asks for a page that is not there, or asks wrongly, gets an HTML page in the node's look,
while the API and ActivityPub clients keep getting ``application/problem+json``."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp

from node.features.actors.authz import principal_by_name
from node.features.calls.lifecycle import cancel_action, create_action
from tests.rig.nodes import Node

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
NOW = datetime.now(UTC)


def local(days: int, hour: int, minute: int, zone: str) -> datetime:
    """``days`` from today at ``hour:minute`` local time in ``zone`` (offset included)."""
    day = (NOW + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone))


async def publish(node: Node, organiser: str, chapter: str, title: str, start: datetime) -> str:
    async with node.services.db.read() as session:
        who = await principal_by_name(session, organiser)
    zone = str(start.tzinfo)
    row = await create_action(
        node.services,
        who,
        chapter,
        {
            "title": title,
            "start": start.isoformat(),
            "end": (start + timedelta(hours=2)).isoformat(),
            "timezone": zone,
        },
    )
    return row.ap_id


def title_of(page: str) -> str:
    found = re.search(r"<title>(.*?)</title>", page, re.S)
    assert found, page
    return html.unescape(found[1])


async def test_the_front_page_lists_the_next_calls_of_every_chapter(nodes):
    node = await nodes()
    await node.chapter("greenpark", title="Green Park Crew")
    await node.chapter("kyoto", title="Kyoto Kamo River")
    await node.member("olga", role="organiser", chapter="greenpark")
    await node.member("kenji", role="organiser", chapter="kyoto")
    london = await publish(
        node, "olga", "greenpark", "Brook clean-up", local(40, 10, 0, "Europe/London")
    )
    kyoto = await publish(
        node, "kenji", "kyoto", "Riverbank sweep", local(20, 18, 30, "Asia/Tokyo")
    )
    past = await publish(
        node, "olga", "greenpark", "Last week's walk", NOW - timedelta(days=7)
    )  # ended: not listed
    gone = await publish(node, "olga", "greenpark", "Called off", local(30, 9, 0, "Europe/London"))
    async with node.services.db.read() as session:
        olga = await principal_by_name(session, "olga")
    await cancel_action(node.services, olga, gone)

    async with aiohttp.ClientSession() as http, http.get(f"{node.base_url}/", headers=HTML) as r:
        assert r.status == 200
        page = html.unescape(await r.text())
    found = re.search(r'<section aria-labelledby="upcoming">(.*?)</section>', page, re.S)
    assert found, page
    upcoming = found[1]
    # Soonest first, across chapters; the ended and the cancelled call are not there.
    assert upcoming.index(kyoto) < upcoming.index(london), upcoming
    assert past not in upcoming and gone not in upcoming, upcoming
    cards = re.findall(r'<div class="card">(.*?)</div>', upcoming, re.S)
    assert len(cards) == 2, upcoming
    # Each card names its chapter (linked, with its handle) and gives its zone's local time.
    assert f'<a href="{node.base_url}/actors/kyoto">Kyoto Kamo River</a>' in cards[0]
    assert f"@kyoto@{node.authority}" in cards[0]
    assert "18:30" in cards[0] and "Tokyo" in cards[0], cards[0]
    assert f'<a href="{node.base_url}/actors/greenpark">Green Park Crew</a>' in cards[1]
    assert "10:00" in cards[1] and "London" in cards[1], cards[1]


async def test_the_node_name_is_its_host_unless_set_and_titles_every_page(nodes):
    plain = await nodes()
    named = await nodes(node_name="Riverside Hub")
    await named.chapter("greenpark", title="Green Park Crew")
    async with aiohttp.ClientSession() as http:
        for node, name in ((plain, plain.authority), (named, "Riverside Hub")):
            async with http.get(f"{node.base_url}/nodeinfo/2.1") as resp:
                doc = await resp.json(content_type=None)
            assert doc["metadata"]["nodeName"] == name
            async with http.get(f"{node.base_url}/", headers=HTML) as resp:
                page = await resp.text()
            assert title_of(page) == name and f"<h1>{name}</h1>" in page
        async with http.get(f"{named.base_url}/actors/greenpark", headers=HTML) as resp:
            assert title_of(await resp.text()) == "Green Park Crew · Riverside Hub"
        async with http.get(f"{named.base_url}/login", headers=HTML) as resp:
            assert title_of(await resp.text()) == "Sign in · Riverside Hub"


async def test_browsers_get_html_error_pages_and_clients_keep_problem_json(nodes):
    node = await nodes(node_name="Riverside Hub")
    await node.chapter("greenpark")
    base = node.base_url
    async with aiohttp.ClientSession() as http:
        # A page that is not there, as a browser asks for it: the node's own page, styled.
        async with http.get(f"{base}/no/such/page", headers=HTML) as resp:
            assert resp.status == 404 and resp.content_type == "text/html"
            page = await resp.text()
        assert title_of(page) == "404 Not Found · Riverside Hub"
        assert '<link rel="stylesheet" href="/static/style.css">' in page
        assert '<a class="home" href="/">Riverside Hub</a>' in page  # the node's header
        assert "There is no page at this address" in page
        # The page speaks a language (chosen by Accept-Language or the cookie).
        assert resp.headers["Vary"] == "Accept, Accept-Language, Cookie"
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]

        # An unknown chapter (the handler's own 404) is a page too, with its message.
        async with http.get(f"{base}/actors/nowhere", headers=HTML) as resp:
            assert resp.status == 404 and resp.content_type == "text/html"
            assert "no actor named 'nowhere' on this node" in html.unescape(await resp.text())

        # A method the page does not take: 405, as a page, still saying what is allowed.
        async with http.put(f"{base}/", headers=HTML) as resp:
            assert resp.status == 405 and resp.content_type == "text/html"
            assert "GET" in resp.headers["Allow"]

        # JSON, ActivityPub and API clients: problem+json, whatever they also accept.
        for path, accept in (
            ("/no/such/page", "application/json"),
            ("/no/such/page", "application/activity+json"),
            (
                "/actors/nowhere",
                'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
            ),
            ("/api/v1/nothing", "text/html"),
        ):
            async with http.get(f"{base}{path}", headers={"Accept": accept}) as resp:
                assert resp.status == 404, (path, accept)
                assert resp.content_type == "application/problem+json", (path, accept)
                problem = await resp.json(content_type=None)
                assert problem["status"] == 404 and problem["title"] == "Not Found"
