"""A campaign's widget and badge: the only page other sites may frame, and an SVG image, both
public, escaped (campaign titles and call names are user input), cached and revalidated by
ETag; the campaign page hands out the code to embed them."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import aiohttp
import pytest
from multidict import CIMultiDict

from node.features.actors.local import create_actor
from tests.node.interfaces.api.public_world import (
    CAMPAIGN_TITLE,
    NEXT_CALL_TIME,
    SHOWN_TITLE,
    PublicWorld,
    public_world,
)

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
async def world(nodes) -> PublicWorld:
    return await public_world(await nodes())


async def get(
    url: str, headers: dict[str, str] | None = None
) -> tuple[int, CIMultiDict[str], bytes]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers or {}) as resp:
        return resp.status, CIMultiDict(resp.headers), await resp.read()


def section(page: str, heading_id: str) -> str:
    match = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', page, re.S)
    assert match, page
    return match[1]


async def test_the_widget_shows_totals_against_targets_and_the_next_calls_in_any_frame(world):
    url = f"{world.campaign}/widget"
    status, headers, raw = await get(url, {"Accept": "text/html"})
    assert status == 200, raw
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    # Any site may frame it, and it still loads nothing but its own style sheet.
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors *" in policy and "frame-ancestors 'none'" not in policy
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "X-Frame-Options" not in headers
    assert "Set-Cookie" not in headers  # no session in someone else's page
    assert headers["Cache-Control"] == "public, max-age=60"
    page = raw.decode()
    assert "<script" not in page and "<form" not in page

    # The title is text, never markup.
    heading = re.search(r"<h1><a [^>]*>([^<]*)</a></h1>", page)
    assert heading and html.unescape(heading[1]) == SHOWN_TITLE, page
    assert "<Rivers>" not in page
    assert "\x01" not in page
    totals = html.unescape(section(page, "widget-totals-h"))
    assert "1,234 kg litter" in totals and "of 5,000 kg litter" in totals, totals
    assert re.search(r'<progress value="1234(\.0)?" max="5000(\.0)?">', totals), totals
    assert "1 chapter reporting" in page
    calls = section(page, "widget-calls-h")
    # Calls by name (not URL), each in its own zone's local time.
    names = re.findall(r"<a [^>]*>([^<]*)</a>", calls)
    assert names == ["Global river clean-up", "Riverbank &lt;planting&gt; day"], names
    assert f"{NEXT_CALL_TIME}–" in calls and "(America/New_York)" in calls, calls
    assert "Hudson River Park" in calls

    # Revalidation: 304 with no body while nothing changed.
    tag = headers["ETag"]
    status, again, raw = await get(url, {"If-None-Match": tag})
    assert status == 304 and raw == b"" and again["ETag"] == tag
    assert again["Cache-Control"] == "public, max-age=60"

    # The campaign's own page still refuses every frame.
    status, headers, _ = await get(world.campaign, {"Accept": "text/html"})
    assert status == 200 and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"


async def test_the_badge_is_well_formed_escaped_svg_and_cached(world):
    url = f"{world.campaign}/widget.svg"
    status, headers, raw = await get(url)
    assert status == 200, raw
    assert headers["Content-Type"] == "image/svg+xml"
    assert headers["Cache-Control"] == "public, max-age=60"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    root = ET.fromstring(raw)  # well-formed, though the title holds <, &, " and a \x01
    assert root.tag == f"{SVG}svg"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == [SHOWN_TITLE, "1,234 kg litter · 1 chapter"], texts
    assert root.find(f"{SVG}title").text == f"{SHOWN_TITLE}: 1,234 kg litter · 1 chapter"
    for element in root.iter():
        assert element.tag.removeprefix(SVG) not in {"script", "foreignObject", "a", "image"}
        assert not any(name.lower().startswith("on") for name in element.attrib), element
    assert float(root.attrib["width"]) > 0 and root.attrib["height"] == "20"

    tag = headers["ETag"]
    status, again, raw = await get(url, {"If-None-Match": tag})
    assert status == 304 and raw == b"" and again["ETag"] == tag


async def test_unknown_actors_and_chapters_have_no_widget(world):
    """Only a campaign has one (404 problems otherwise, never a 500 or an empty widget)."""
    base = world.node.base_url
    for part in ("widget", "widget.svg"):
        status, _, _ = await get(f"{base}/actors/rivers/{part}")
        assert status == 200, part
    for name in ("nowhere", "greenpark", "mo"):  # none, a chapter, a member
        for part in ("widget", "widget.svg"):
            status, _, _ = await get(f"{base}/actors/{name}/{part}")
            assert status == 404, (name, part)


class Elements(HTMLParser):
    """Every start tag of a snippet, with its attributes (unescaped, as a browser reads them)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def snippet(page: str, textarea_id: str) -> list[tuple[str, dict[str, str | None]]]:
    match = re.search(rf'<textarea id="{textarea_id}"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, page
    parser = Elements()
    parser.feed(html.unescape(match[1]))  # the code as a person copies it
    return parser.found


async def test_the_campaign_page_offers_the_code_to_embed_them(world):
    status, _, raw = await get(world.campaign, {"Accept": "text/html"})
    assert status == 200
    page = raw.decode()
    # Pasted elsewhere, the code makes exactly these elements: the title stays an attribute.
    assert snippet(page, "embed-widget") == [
        (
            "iframe",
            {
                "src": f"{world.campaign}/widget",
                "title": CAMPAIGN_TITLE,
                "width": "320",
                "height": "420",
                "loading": "lazy",
            },
        )
    ]
    assert snippet(page, "embed-badge") == [
        ("a", {"href": world.campaign}),
        ("img", {"src": f"{world.campaign}/widget.svg", "alt": CAMPAIGN_TITLE}),
    ]


async def test_a_new_campaign_with_nothing_yet_has_a_widget_and_a_badge(nodes):
    node = await nodes()
    campaign = await create_actor(node.services, "fresh", "campaign")
    status, _, raw = await get(f"{campaign.actor.ap_id}/widget")
    assert status == 200
    page = raw.decode()
    assert "Nothing reported yet." in page and "No action calls coming up." in page
    assert "0 chapters reporting" in page
    status, _, raw = await get(f"{campaign.actor.ap_id}/widget.svg")
    assert status == 200
    texts = [t.text for t in ET.fromstring(raw).iter(f"{SVG}text")]
    assert texts == ["fresh", "nothing reported yet · 0 chapters"], texts


NARROW = "\u202f"  # French groups thousands with a narrow no-break space


async def test_the_badge_speaks_the_language_an_img_asks_for(world):
    """An ``<img>`` sends the browser's ``Accept-Language`` (and no cookie cross-site): the
    badge's words come from the catalogue and its numbers are grouped the reader's way; each
    language has its own bytes and ETag, and caches are told it varies."""
    url = f"{world.campaign}/widget.svg"
    _, english, en_raw = await get(url, {"Accept-Language": "en"})
    for asked in ({"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}, None):
        status, headers, raw = await get(url if asked else f"{url}?lang=fr", asked)
        assert status == 200, raw
        root = ET.fromstring(raw)  # still well-formed XML in French
        texts = [t.text for t in root.iter(f"{SVG}text")]
        assert texts == [SHOWN_TITLE, f"1{NARROW}234 kg litter · 1 groupe local"], texts
        assert root.attrib["{http://www.w3.org/XML/1998/namespace}lang"] == "fr"
        assert headers["Content-Language"] == "fr"
        assert "Accept-Language" in headers["Vary"]
        assert headers["ETag"] != english["ETag"] and raw != en_raw
        assert headers["Cache-Control"] == "public, max-age=60"
        tag = headers["ETag"]
        status, _, body = await get(url, {**(asked or {}), "If-None-Match": tag})
        if asked:  # the same language revalidates; the English tag does not match French
            assert status == 304 and body == b""
    status, _, body = await get(url, {"Accept-Language": "fr", "If-None-Match": english["ETag"]})
    assert status == 200 and "groupe local" in body.decode()


async def test_a_new_campaigns_badge_in_german_says_nothing_yet_in_german(nodes):
    node = await nodes()
    campaign = await create_actor(node.services, "frisch", "campaign")
    status, _, raw = await get(f"{campaign.actor.ap_id}/widget.svg?lang=de")
    assert status == 200
    texts = [t.text for t in ET.fromstring(raw).iter(f"{SVG}text")]
    assert texts[1].endswith("0 Ortsgruppen") and "nothing" not in texts[1], texts


async def test_the_widget_writes_its_amounts_the_readers_way(world):
    url = f"{world.campaign}/widget"
    status, headers, raw = await get(url, {"Accept": "text/html", "Accept-Language": "fr"})
    assert status == 200 and headers["Content-Language"] == "fr"
    assert "Accept-Language" in headers["Vary"]
    totals = html.unescape(section(raw.decode(), "widget-totals-h"))
    assert f"1{NARROW}234 kg litter" in totals and f"5{NARROW}000 kg litter" in totals, totals
    assert "1,234" not in totals and "5,000" not in totals
