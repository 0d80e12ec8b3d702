"""The ``/directory`` page on a real node on loopback, read as a browser without JavaScript reads
it: the search form and the result list are plain HTML, the map's data rides along for the
script, bad input is a 400 page that says what was wrong, and the Leaflet the map uses is served
by the node itself."""

from __future__ import annotations

import glob
import html
import json
import re
import tomllib

import aiohttp
import pytest

from node.features.following.follow import follow
from node.runtime.config import ConfigError, Settings
from tests.a11y.test_pages_accessibility import CHECKS, parse
from tests.browser.world import follow_and_wait
from tests.rig.nodes import REPO, Node

HTML = {"Accept": "text/html"}
LONDON = {
    "place_name": "Green Park",
    "coordinates": (51.5045, -0.1425),
    "topics": ["litter", "climate"],
    "languages": ["en"],
}
LYON = {
    "place_name": "Parc de la Tête d'Or",
    "address": "Lyon",
    "coordinates": (45.7772, 4.8559),
    "topics": ["climate"],
    "languages": ["fr"],
}


async def directory_node(nodes) -> Node:
    node = await nodes()
    await node.chapter("greenpark", title="Green Park Crew", profile=LONDON)
    await node.chapter("lyonverts", title="Lyon Verts", profile=LYON)
    await node.member("mia")
    await follow_and_wait(node, "mia", node.services.ids.actor("greenpark"))
    return node


async def get(node: Node, path: str, headers: dict[str, str] | None = None):
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{node.base_url}{path}", headers=headers or HTML) as resp,
    ):
        return resp.status, dict(resp.headers), await resp.read()


def results(page: str) -> str:
    match = re.search(
        r'<ol class="directory-results" id="directory-results">(.*?)</ol>', page, re.S
    )
    assert match, "no result list on the page"
    return match.group(1)


def map_data(page: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', page, re.S)
    assert match, "no map data on the page"
    return json.loads(html.unescape(match.group(1)))


async def test_the_list_and_the_form_work_without_javascript(nodes):
    node = await directory_node(nodes)
    status, headers, body = await get(node, "/directory")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = body.decode()
    assert '<form class="directory-search" method="get" action="/directory"' in page
    for field in ("q", "near", "radius", "topic", "language"):
        assert f'name="{field}"' in page
    listed = results(page)
    # Names linked to their pages (never a bare URL as the text), places, topics, languages.
    green = node.services.ids.actor("greenpark")
    assert f'<a href="{green}">Green Park Crew</a>' in listed
    assert "Lyon Verts" in listed and "Parc de la Tête d&#39;Or, Lyon" in listed
    assert "#litter" in listed and "fr" in listed
    assert re.search(r'<dd class="followers">1</dd>', listed)  # mia follows greenpark
    assert ">http" not in listed
    # The map is drawn over the list by a script of ours and the Leaflet the node serves.
    markers = {(m["name"], m["lat"], m["lon"]) for m in map_data(page)["markers"]}
    assert ("Green Park Crew", 51.5045, -0.1425) in markers
    assert '<script src="/static/vendor/leaflet/leaflet.js" defer></script>' in page
    assert '<div id="map" class="map" hidden' in page  # shown only when the script runs
    policy = headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in policy
    assert "script-src" not in policy and "default-src 'self'" in policy


async def test_search_by_distance_topic_language_and_words(nodes):
    node = await directory_node(nodes)

    async def names(query: str) -> str:
        status, _, body = await get(node, f"/directory?{query}")
        assert status == 200, (query, status, body[:500])
        return results(body.decode())

    near_london = await names("near=London&radius=100")
    assert "Green Park Crew" in near_london and "Lyon Verts" not in near_london
    assert re.search(r'<span class="distance">\d[\d.,]* km away</span>', near_london)
    near_lyon = await names("near=45.76%2C4.84&radius=25")
    assert "Lyon Verts" in near_lyon and "Green Park Crew" not in near_lyon
    by_topic = await names("topic=%23Litter")
    assert "Green Park Crew" in by_topic and "Lyon Verts" not in by_topic
    by_language = await names("language=fr")
    assert "Lyon Verts" in by_language and "Green Park Crew" not in by_language
    by_words = await names("q=verts")
    assert "Lyon Verts" in by_words and "Green Park Crew" not in by_words
    nothing = await names("near=London&radius=5&topic=tenants")
    assert "Nothing found" in nothing


@pytest.mark.parametrize(
    ("query", "words", "field"),
    [
        ("near=Xyzzyville%20Nowhere", "We do not know the place “Xyzzyville Nowhere”", "near"),
        ("near=95%2C200", "We do not know the place “95,200”", "near"),
        ("near=London&radius=far", "must be a number", "radius"),
        ("near=London&radius=-3", "more than 0", "radius"),
        ("near=London&radius=nan", "more than 0", "radius"),
        ("near=London&radius=99999", "more than 0", "radius"),
        ("topic=two%20words", "A topic is one word", "topic"),
        ("language=english!", "A language is a tag", "language"),
        ("q=" + "a" * 201, "at most 200", "q"),
        ("near=" + "x" * 300, "We do not know the place", "near"),
    ],
)
async def test_bad_input_is_a_400_page_that_says_why(nodes, query, words, field):
    node = await nodes()
    status, headers, body = await get(node, f"/directory?{query}")
    page = body.decode()
    assert status == 400, page[:300]
    assert headers["Content-Type"].startswith("text/html")
    message = re.search(r'<p class="error" role="alert" id="search-error">(.*?)</p>', page, re.S)
    assert message and words in html.unescape(message.group(1))
    assert f'name="{field}"' in page  # the form again, to correct and send
    if field != "q":
        assert re.search(rf'id="{field}" name="{field}"[^>]*aria-invalid="true"', page)


@pytest.mark.parametrize(
    ("path", "media"),
    [
        ("/static/vendor/leaflet/leaflet.js", "javascript"),
        ("/static/vendor/leaflet/leaflet.css", "text/css"),
        ("/static/vendor/leaflet/images/marker-icon.png", "image/png"),
        ("/static/vendor/leaflet/images/marker-shadow.png", "image/png"),
        ("/static/vendor/leaflet/images/layers.png", "image/png"),
        ("/static/directory-map.js", "javascript"),
        ("/static/map.css", "text/css"),
    ],
)
async def test_leaflet_and_our_map_script_are_served_by_the_node(nodes, path, media):
    node = await nodes()
    status, headers, body = await get(node, path, {"Accept": "*/*"})
    assert status == 200 and media in headers["Content-Type"]
    if path.endswith("leaflet.js"):
        assert b"Leaflet 1.9.4" in body[:200]


async def test_leaflet_license_ships_with_it(nodes):
    node = await nodes()
    status, _, body = await get(node, "/static/vendor/leaflet/LICENSE", {"Accept": "*/*"})
    assert status == 200 and b"BSD 2-Clause License" in body


async def test_the_tile_host_setting_is_what_pages_allow(nodes):
    node = await nodes(
        map_tile_url="https://{s}.tiles.example.org/{z}/{x}/{y}.png",
        map_attribution="Tiles <b>by</b> example",
    )
    status, headers, body = await get(node, "/directory")
    assert status == 200
    assert "img-src 'self' data: https://*.tiles.example.org;" in headers["Content-Security-Policy"]
    data = map_data(body.decode())
    assert data["tiles"] == "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
    assert data["attribution"] == "Tiles <b>by</b> example"  # text: the script sets it as text
    assert "<b>by</b>" not in body.decode()  # and the page escapes it


@pytest.mark.parametrize(
    "url",
    [
        "ftp://tiles.example.org/{z}/{x}/{y}.png",
        "https://tiles.example.org/tiles.png",
        "https:///{z}/{x}/{y}.png",
        "https://tiles.example.org/{z}/{x}/{y}.png; script-src *",
    ],
)
def test_a_bad_tile_url_is_refused_at_startup(tmp_path, url):
    with pytest.raises(ConfigError, match="map_tile_url"):
        Settings(data_dir=tmp_path, base_url="https://node.example", map_tile_url=url)


async def test_every_page_links_to_the_directory(nodes):
    node = await nodes()
    status, _, body = await get(node, "/")
    assert status == 200 and '<a id="directory-link" href="/directory">' in body.decode()


async def test_people_are_not_in_the_directory(nodes):
    node = await directory_node(nodes)
    await follow(node.services, "mia", node.services.ids.actor("lyonverts"))
    _, _, body = await get(node, "/directory")
    assert "/actors/mia" not in results(body.decode())


async def test_browsers_get_the_page_and_peers_get_the_collection_at_one_url(nodes):
    node = await directory_node(nodes)
    browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    status, headers, body = await get(node, "/directory", {"Accept": browser_accept})
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "Accept" in headers["Vary"]
    assert 'id="directory-results"' in body.decode()
    status, headers, body = await get(node, "/directory", {"Accept": "application/activity+json"})
    assert status == 200 and headers["Content-Type"].startswith("application/activity+json")
    assert json.loads(body)["type"] == "OrderedCollection"


@pytest.mark.parametrize("query", ["", "?near=London&radius=100", "?near=Xyzzyville"])
async def test_the_page_passes_the_accessibility_checks(nodes, query):
    node = await directory_node(nodes)
    _, _, body = await get(node, f"/directory{query}")
    doc = parse(body.decode())
    problems = {name: found for name, check in CHECKS.items() if (found := check(doc))}
    assert not problems, problems


def test_every_static_file_ships_in_the_package():
    """The wheel carries what the node serves: ``static/*`` alone would leave Leaflet out."""
    root = REPO / "node" / "interfaces" / "web"
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["node.interfaces.web"]
    shipped = {path for pattern in patterns for path in glob.glob(pattern, root_dir=root)}
    served = {p.relative_to(root).as_posix() for p in (root / "static").rglob("*") if p.is_file()}
    assert "static/vendor/leaflet/images/marker-icon.png" in served
    assert served <= shipped, sorted(served - shipped)
