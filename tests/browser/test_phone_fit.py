"""The main pages fit a 375 px wide phone screen, in a real (headless) Chromium.

A phone-sized browser context (375 by 740 px, a mobile viewport that honours the pages'
``<meta name="viewport">``) loads each page as the person who would see it, saves a full-page
screenshot to ``artifacts/screenshots/phone-*.png``, and checks that nothing overflows
sideways: the document is no wider than the screen, and no element's box reaches past either
edge, unless it sits inside a box that scrolls sideways on its own (a wide table in its
``overflow-x: auto`` wrapper scrolls there instead of widening the page).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from node.features.actors.people import set_show_commitments
from node.features.calls.lifecycle import create_action
from node.features.calls.rsvp import rsvp
from node.features.following.follow import follow
from node.features.impact.campaigns import campaign_totals
from node.features.impact.reports import create_report, parse_metric_args
from storage.repositories import actors as actor_repo
from storage.repositories import impact as impact_repo
from tests.browser.conftest import SCREENSHOTS, TIMEOUT_MS, sign_in, skip_reason
from tests.browser.world import call_data, campaign_world, principal, set_password
from tests.rig.nodes import Node, eventually

_reason = skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

PHONE = {"width": 375, "height": 740}

# Every element whose box reaches past the screen's edges, unless an ancestor that scrolls
# sideways (overflow-x auto or scroll) clips it there. Boxes clipped by ``overflow: hidden``
# are not excused: that content would be cut off, not scrollable.
OVERFLOW_JS = """
(width) => {
  const describe = (el) => {
    let text = el.tagName.toLowerCase();
    if (el.id) text += '#' + el.id;
    if (el.classList.length) text += '.' + Array.from(el.classList).join('.');
    const words = (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 60);
    return words ? `${text} "${words}"` : text;
  };
  const offenders = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    let left = box.left, right = box.right;
    for (let up = el.parentElement; up; up = up.parentElement) {
      const style = getComputedStyle(up);
      if (style.overflowX === 'auto' || style.overflowX === 'scroll') {
        const clip = up.getBoundingClientRect();
        left = Math.max(left, clip.left);
        right = Math.min(right, clip.right);
      }
    }
    if (right > width + 0.5 || left < -0.5) {
      offenders.push(`${describe(el)}: ${box.left.toFixed(0)}..${box.right.toFixed(0)} px`);
    }
  }
  return {
    scrollWidth: document.documentElement.scrollWidth,
    bodyScrollWidth: document.body.scrollWidth,
    offenders: offenders,
  };
}
"""

LONG_TITLE = "Riverbank-and-community-garden-litter-pick-with-the-Greenpark-playground-crew"


async def phone_page(browser: Any) -> Any:
    context = await browser.new_context(
        viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    return await context.new_page()


async def earlier_totals(hub: Node) -> None:
    """Two rollups of days before (uneven gaps), so the chart's time axis spans days."""
    services = hub.services
    now = services.clock.now()
    async with services.db.write() as session:
        campaign = await actor_repo.local_actor_by_name(session, "climate")
        assert campaign is not None
        for days, people, kg in ((9, 5, 20), (2, 18, 64.5)):
            values = {
                ("participants", "people"): Decimal(people),
                ("kg_litter", "kg"): Decimal(str(kg)),
            }
            await impact_repo.add_snapshot(
                session, campaign.id, now - timedelta(days=days, hours=3), 1, values
            )


async def test_the_main_pages_fit_a_375px_wide_phone(nodes, browser):
    hub, chapter_node = await nodes(rollup_interval_seconds=0.2), await nodes()
    w = await campaign_world(hub, chapter_node)
    await set_password(hub, "cora")
    node = w.chapter_node
    await create_report(
        node.services,
        w.olga,
        w.adopted_call,
        parse_metric_args(["participants=42:people", "kg_litter=120.5:kg"], "counted"),
        "Forty-two of us cleared the river bank.",
    )

    async def rolled_up() -> bool:
        totals = await campaign_totals(hub.services, "climate")
        return bool(totals.rollup) and any(t["value"] == 42 for t in totals.totals)

    await eventually(rolled_up, timeout=60, what="the report in the campaign's rollup")
    await earlier_totals(hub)
    # A member who follows the chapter, is coming to a call with a long unbroken title, and
    # shows that on their profile.
    long_call = await create_action(
        node.services, w.olga, "greenpark", call_data(LONG_TITLE, days=3)
    )
    await node.member("mia", chapter="greenpark")
    await set_password(node, "mia")
    await follow(node.services, "mia", w.chapter_id)
    mia = await principal(node, "mia")
    await rsvp(node.services, mia, long_call.ap_id)
    await set_show_commitments(node.services, mia, True)

    anonymous, reader = await phone_page(browser), await phone_page(browser)
    olga, root, mia_page = (
        await phone_page(browser),
        await phone_page(browser),
        await phone_page(browser),
    )
    cora = await phone_page(browser)
    await sign_in(olga, node, "olga")
    await sign_in(root, node, "root")
    await sign_in(mia_page, node, "mia")
    await sign_in(cora, hub, "cora")

    shots = [
        ("front", anonymous, f"{node.base_url}/"),
        ("chapter", anonymous, w.chapter_id),
        ("call", olga, long_call.ap_id),
        ("campaign", reader, w.campaign_id),
        ("campaign-organiser", cora, w.campaign_id),
        ("member-profile", anonymous, f"{node.base_url}/actors/mia"),
        ("instance", anonymous, f"{node.base_url}/actors/relay"),
        ("me", mia_page, f"{node.base_url}/me"),
        ("call-form", olga, f"{w.chapter_id}/actions/new"),
        ("admin", root, f"{node.base_url}/admin"),
    ]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, object] = {}
    for name, page, url in shots:
        response = await page.goto(url)
        assert response is not None and response.ok, f"{name}: {url} answered {response}"
        await page.screenshot(path=str(SCREENSHOTS / f"phone-{name}.png"), full_page=True)
        found = await page.evaluate(OVERFLOW_JS, PHONE["width"])
        if found["scrollWidth"] > PHONE["width"] or found["offenders"]:
            problems[name] = found

    # The pages checked do carry what overflowed before: the charts and the per-chapter table.
    await reader.goto(w.campaign_id)
    assert await reader.locator("svg.time-chart").count() == 2
    assert await reader.locator("section[aria-labelledby=chapters] table").count() == 1
    assert not problems, "\n".join(
        f"{name}: page {p['scrollWidth']} px wide; " + "; ".join(p["offenders"][:8])  # type: ignore[index]
        for name, p in problems.items()
    )
