"""The maps in a real (headless) Chromium: Leaflet served by the node draws the directory's and a
campaign's markers, tiles come from the configured host and no policy blocks anything, and with
JavaScript off the list and the search form still do the whole job.

Tiles come from a small tile server of the test's own on loopback (``map_tile_url``), so the
test never reaches the internet and can see that the page's policy lets tiles in.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from node.features.calls.lifecycle import update_action
from node.ops.cluster import free_socket
from storage.repositories import actions as action_repo
from tests.browser.conftest import SCREENSHOTS, TIMEOUT_MS, skip_reason
from tests.browser.test_phone_fit import OVERFLOW_JS, PHONE
from tests.browser.world import campaign_world
from tests.rig.nodes import Node, eventually

_reason = skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

from playwright.async_api import expect  # noqa: E402

# A 1x1 PNG: enough for Leaflet to count a tile as loaded.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNk+A8AAQUBAScY42YAAAAASUVORK5CYII="
)
LONDON = {"place_name": "Green Park", "coordinates": (51.5045, -0.1425), "topics": ["litter"]}
LYON = {"place_name": "Tête d'Or", "coordinates": (45.7772, 4.8559), "languages": ["fr"]}


@pytest.fixture
async def tiles() -> AsyncIterator[dict[str, Any]]:
    """A tile server on loopback that counts the tiles browsers asked it for."""
    served: dict[str, Any] = {"count": 0, "referers": set()}

    async def tile(request: web.Request) -> web.Response:
        served["count"] += 1
        served["referers"].add(request.headers.get("Referer"))
        return web.Response(body=PIXEL, content_type="image/png")

    app = web.Application()
    app.router.add_get("/{z}/{x}/{y}.png", tile)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = free_socket()
    await web.SockSite(runner, sock).start()
    served["url"] = f"http://127.0.0.1:{sock.getsockname()[1]}/{{z}}/{{x}}/{{y}}.png"
    yield served
    await runner.cleanup()


async def open_page(browser: Any, *, script: bool = True, phone: bool = False) -> Any:
    options: dict[str, Any] = {"java_script_enabled": script}
    options.update(
        {"viewport": PHONE, "is_mobile": True, "has_touch": True}
        if phone
        else {"viewport": {"width": 1024, "height": 800}}
    )
    context = await browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    page.problems = []  # what the console said went wrong (a policy violation, a script error)
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and "Failed to load resource" not in m.text  # listed with its address below
            and page.problems.append(m.text)
        ),
    )
    page.on(
        "response",
        lambda r: (
            r.status >= 400
            and not r.url.endswith("/favicon.ico")  # browsers ask; the node has none
            and r.request.resource_type != "document"  # a 400 page the test asks for
            and page.problems.append(f"{r.status} {r.url}")
        ),
    )
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    return page


async def directory_node(nodes: Any, tile_url: str) -> Node:
    node = await nodes(map_tile_url=tile_url)
    await node.chapter("greenpark", title="Green Park Crew", profile=LONDON)
    await node.chapter("lyonverts", title="Lyon Verts", profile=LYON)
    return node


async def test_the_directory_map_draws_its_markers_on_tiles(nodes, browser, tiles):
    node = await directory_node(nodes, tiles["url"])
    page = await open_page(browser)
    await page.goto(f"{node.base_url}/directory")
    await expect(page.locator("#map")).to_be_visible()
    markers = page.locator("#map .leaflet-marker-icon")
    await expect(markers).to_have_count(2)
    assert {await m.get_attribute("title") for m in await markers.all()} == {
        "Green Park Crew",
        "Lyon Verts",
    }
    await expect(page.locator("#map img.leaflet-tile-loaded").first).to_be_attached()
    zoom_in = page.locator("#map .leaflet-control-zoom-in")
    await expect(zoom_in).to_have_attribute("title", "Zoom in")  # the page's words
    credit = page.locator('#map .leaflet-control-attribution a[href$="/copyright"]')
    await expect(credit).to_have_text("© OpenStreetMap contributors")
    assert tiles["count"] > 0
    # The tile host learns which site asks (its usage policy), never the page's address.
    assert tiles["referers"] == {f"{node.base_url}/"}
    # A marker opens its chapter's name, linked to its page.
    await markers.first.click()
    popup = page.locator(".leaflet-popup-content a")
    await expect(popup).to_have_count(1)
    assert (await popup.get_attribute("href")).startswith(f"{node.base_url}/actors/")
    await page.screenshot(path=str(SCREENSHOTS / "directory-map.png"), full_page=True)
    assert not page.problems, page.problems
    # A search around Lyon: one marker, and the circle of the distance searched.
    await page.fill("#near", "45.76,4.84")
    await page.fill("#radius", "30")
    await page.get_by_role("button", name="Search").click()
    await page.wait_for_url("**/directory?**near=45.76**")
    await expect(page.locator("#map .leaflet-marker-icon")).to_have_count(1)
    await expect(page.locator("#map path.leaflet-interactive")).to_have_count(1)
    await expect(page.locator("#directory-results")).to_contain_text("Lyon Verts")
    await expect(page.locator("#directory-results")).not_to_contain_text("Green Park Crew")
    assert not page.problems, page.problems
    assert tiles["referers"] == {f"{node.base_url}/"}  # not the search's ?near=…


async def test_without_javascript_the_list_and_form_do_the_whole_job(nodes, browser, tiles):
    node = await directory_node(nodes, tiles["url"])
    page = await open_page(browser, script=False)
    await page.goto(f"{node.base_url}/")
    await page.get_by_role("link", name="Find chapters").click()
    await page.wait_for_url(f"{node.base_url}/directory")
    await expect(page.locator("#map")).to_be_hidden()  # no empty box where the map would be
    results = page.locator("#directory-results")
    await expect(results.get_by_role("link", name="Green Park Crew")).to_be_visible()
    await expect(results.get_by_role("link", name="Lyon Verts")).to_be_visible()
    await page.fill("#near", "London")
    await page.fill("#radius", "50")
    await page.get_by_role("button", name="Search").click()
    await page.wait_for_url("**/directory?**near=London**")
    await expect(results).to_contain_text("Green Park Crew")
    await expect(results).to_contain_text("km away")
    await expect(results).not_to_contain_text("Lyon Verts")
    await results.get_by_role("link", name="Green Park Crew").click()
    await page.wait_for_url(f"{node.base_url}/actors/greenpark")
    # A place nobody knows: the page says so, and keeps what was typed.
    response = await page.goto(f"{node.base_url}/directory?near=Xyzzyville+Nowhere")
    assert response is not None and response.status == 400
    await expect(page.get_by_role("alert")).to_contain_text("We do not know the place")
    await expect(page.locator("#near")).to_have_value("Xyzzyville Nowhere")
    assert tiles["count"] == 0


async def test_the_directory_fits_a_phone(nodes, browser, tiles):
    node = await directory_node(nodes, tiles["url"])
    page = await open_page(browser, phone=True)
    await page.goto(f"{node.base_url}/directory?near=London&radius=2000")
    await expect(page.locator("#map .leaflet-marker-icon")).to_have_count(2)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "phone-directory.png"), full_page=True)
    found = await page.evaluate(OVERFLOW_JS, PHONE["width"])
    # Inside the map, tiles reach past its edges on purpose (it pans; Leaflet clips them); the
    # map's own box (div#map) and everything else on the page must fit.
    inside_map = ("img.leaflet-", "svg.leaflet-", "div.leaflet-", "path.leaflet-")
    offenders = [o for o in found["offenders"] if not o.startswith(inside_map)]
    assert found["scrollWidth"] <= PHONE["width"] and not offenders, found


async def test_the_campaign_page_maps_its_chapters_adopted_calls(nodes, browser, tiles):
    hub = await nodes(rollup_interval_seconds=0.2, map_tile_url=tiles["url"])
    chapter_node = await nodes()
    w = await campaign_world(hub, chapter_node)
    # The campaign's call (and so greenpark's adopted copy) has no coordinates yet: no map.
    page = await open_page(browser)
    await page.goto(w.campaign_id)
    chapters = page.locator("#member-chapters")
    await expect(chapters.get_by_role("link", name="Green Park Clean-up Crew")).to_be_visible()
    await expect(page.locator("#map")).to_have_count(0)
    # The chapter sets the place of its adopted call: the campaign's map shows it.
    await update_action(
        chapter_node.services,
        w.olga,
        w.adopted_call,
        {"place": {"name": "Green Park gates", "latitude": 51.5049, "longitude": -0.1431}},
    )

    async def placed() -> bool:
        async with hub.services.db.read() as session:
            row = await action_repo.call_by_ap_id(session, w.adopted_call)
        return row is not None and "latitude" in str(row.document.get("location"))

    await eventually(placed, what="the adopted call's new place at the campaign")
    await page.goto(w.campaign_id)
    marker = page.locator("#map .leaflet-marker-icon")
    await expect(marker).to_have_count(1)
    await marker.click()
    link = page.locator(".leaflet-popup-content a")
    await expect(link).to_have_attribute("href", w.adopted_call)
    await expect(page.locator(".leaflet-popup-content")).to_contain_text("Green Park gates")
    assert not page.problems, page.problems
    # Without JavaScript the members are still listed, linked to their pages.
    bare = await open_page(browser, script=False)
    await bare.goto(w.campaign_id)
    await expect(bare.locator("#map")).to_be_hidden()
    await expect(
        bare.locator("#member-chapters").get_by_role("link", name="Green Park Clean-up Crew")
    ).to_have_attribute("href", w.chapter_id)


async def test_in_french_leaflets_own_words_are_french_too(nodes, browser, tiles):
    """Leaflet writes its zoom buttons' names, its popups' close button and its credit to
    itself in English; the page hands it its own words."""
    node = await directory_node(nodes, tiles["url"])
    page = await open_page(browser)
    await page.goto(f"{node.base_url}/directory?lang=fr")
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    await expect(page.locator("#map .leaflet-control-zoom-in")).to_have_attribute(
        "title", "Zoom avant"
    )
    await expect(page.locator("#map .leaflet-control-zoom-out")).to_have_attribute(
        "title", "Zoom arrière"
    )
    prefix = page.locator('#map .leaflet-control-attribution a[href="https://leafletjs.com"]')
    await expect(prefix).to_have_attribute(
        "title", "Une bibliothèque JavaScript pour les cartes interactives"
    )
    await expect(prefix).to_have_text("Leaflet")
    await page.locator("#map .leaflet-marker-icon").first.click()
    close = page.locator("#map .leaflet-popup-close-button")
    await expect(close).to_have_attribute("aria-label", "Fermer la bulle")
    await expect(close).to_have_attribute("title", "Fermer la bulle")
    assert "Close popup" not in await page.locator("#map").inner_html()
    assert "A JavaScript library" not in await page.locator("#map").inner_html()
    assert not page.problems, page.problems
    await close.click()
    await expect(page.locator("#map .leaflet-popup")).to_have_count(0)
