"""Another web site embeds a campaign, in a real (headless) Chromium.

A tiny aiohttp app on another loopback port (so another origin) serves a page that frames the
campaign's widget, shows its badge as an image, and fetch()es the public JSON API. The browser
must show the totals in the frame (the widget allows any frame ancestor), load the badge, and
let the page read the JSON and its ETag (CORS, with the preflight an ``If-None-Match`` asks
for), then revalidate it (304).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from tests.browser.conftest import SCREENSHOTS, skip_reason
from tests.node.interfaces.api.public_world import NEXT_CALL_TIME, public_world
from tests.rig.nodes import free_socket

_reason = skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Our river group</title></head>
<body>
<h1>Our river group</h1>
<iframe id="widget" src="{node}/actors/rivers/widget" width="320" height="420"
  title="Campaign totals"></iframe>
<img id="badge" src="{node}/actors/rivers/widget.svg" alt="Campaign badge">
<script>
window.embedded = (async () => {{
  const totals = await fetch("{node}/api/v1/campaigns/rivers/totals");
  const calls = await fetch("{node}/api/v1/chapters/greenpark/actions",
                            {{headers: {{"If-None-Match": '"not-this-one"'}}}});
  const etag = calls.headers.get("ETag");
  const again = await fetch("{node}/api/v1/chapters/greenpark/actions",
                            {{headers: {{"If-None-Match": etag}}}});
  return {{
    totalsStatus: totals.status,
    totals: await totals.json(),
    callsStatus: calls.status,
    titles: (await calls.json()).items.map((c) => c.title).sort(),
    etag: etag,
    againStatus: again.status,
  }};
}})().catch((error) => ({{error: String(error)}}));
</script>
</body></html>
"""


async def host_site(node_url: str) -> AsyncIterator[str]:
    """The other site: its one page, on its own loopback port."""

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=HOST_PAGE.format(node=node_url), content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    sock = free_socket(0)
    port = sock.getsockname()[1]
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def other_site(nodes) -> AsyncIterator[tuple[Any, str]]:
    node = await nodes()
    world = await public_world(node)
    async for url in host_site(node.base_url):
        yield world, url


async def test_another_site_embeds_the_widget_the_badge_and_the_public_data(other_site, new_page):
    world, site = other_site
    assert site != world.node.base_url  # another origin: same host, another port
    page = await new_page()
    await page.goto(site)

    # The frame shows the campaign's totals against its target, and its next call.
    frame = page.frame_locator("#widget")
    totals = frame.locator("#widget-totals")
    await totals.locator(".amount", has_text="1,234 kg litter").wait_for()
    assert "of 5,000 kg litter" in await totals.inner_text()
    calls = await frame.locator("#widget-calls").inner_text()
    assert "Riverbank <planting> day" in calls and f"{NEXT_CALL_TIME}–" in calls, calls

    # The badge loaded as an image.
    await page.wait_for_function(
        "() => { const b = document.getElementById('badge'); "
        "return b.complete && b.naturalWidth > 0; }"
    )
    assert await page.eval_on_selector("#badge", "b => b.naturalWidth") > 0

    # The page read the public JSON across origins, the ETag included, and revalidated it.
    got = await page.evaluate("() => window.embedded")
    assert "error" not in got, got
    assert got["totalsStatus"] == 200
    assert got["totals"]["totals"] == [{"metric": "kg_litter", "unit": "kg", "value": 1234}]
    assert got["callsStatus"] == 200
    assert got["titles"] == ["Global river clean-up", "Park walk"]
    assert got["etag"] and got["etag"].startswith('"'), got
    assert got["againStatus"] == 304, got

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "embed-other-site.png"), full_page=True)
