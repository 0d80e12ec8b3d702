"""The organiser's journey, continued in Chromium: editing a call keeps its address (issue 15).

A real node on loopback; the organiser signs in through the real form, opens the call's page,
follows "Edit", changes only the title and saves. The form showed every field filled (the
address, coordinates, online link, hashtags and targets), so nothing is lost. Then a new call
is made with the form's local date, time and zone, and its page shows that local time.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from node.features.calls.lifecycle import call_from_row, create_action
from storage.models import ActionCall as CallRow
from tests.browser.conftest import sign_in, skip_reason
from tests.browser.world import principal, set_password

_reason = skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

from playwright.async_api import expect  # noqa: E402

CALL = {
    "title": "Canal clean-up",
    "start": "2027-07-12T10:00",
    "end": "2027-07-12T13:00",
    "place": {
        "name": "Lock 7",
        "address": "Towpath, Green Park",
        "latitude": 51.5,
        "longitude": -0.1,
    },
    "online_url": "https://meet.example/canal",
    "goal": "Clear the towpath",
    "targets": ["participants=50:people", "kg_litter=200:kg"],
    "tags": ["canal"],
}


async def stored(node, call_id: str):
    async with node.services.db.read() as session:
        row = await session.scalar(select(CallRow).where(CallRow.ap_id == call_id))
    return call_from_row(row, node.services)


async def test_editing_a_call_keeps_its_address_and_every_other_field(nodes, new_page):
    node = await nodes()
    await node.chapter("greenpark", title="Green Park Clean-up Crew", timezone="Europe/London")
    await node.member("olga", role="organiser", chapter="greenpark")
    await set_password(node, "olga")
    row = await create_action(node.services, await principal(node, "olga"), "greenpark", CALL)
    before = await stored(node, row.ap_id)

    page = await new_page()
    await sign_in(page, node, "olga")
    await page.goto(row.ap_id)
    await expect(page.locator("main")).to_contain_text("Lock 7, Towpath, Green Park")
    await expect(page.locator("main")).to_contain_text(
        "Mon 12 Jul 2027 10:00–13:00 (Europe/London)"
    )
    await page.get_by_role("link", name="Edit", exact=True).click()
    await expect(page.locator("h1")).to_have_text("Edit Canal clean-up")
    # Every field is there, filled: the local time in the call's zone, the place, the targets.
    await expect(page.locator("#start_date")).to_have_value("2027-07-12")
    await expect(page.locator("#start_time")).to_have_value("10:00")
    await expect(page.locator("#timezone")).to_have_value("Europe/London")
    await expect(page.locator("#address")).to_have_value("Towpath, Green Park")
    await expect(page.locator("#latitude")).to_have_value("51.5")
    await expect(page.locator("#longitude")).to_have_value("-0.1")
    await expect(page.locator("#online_url")).to_have_value("https://meet.example/canal")
    await expect(page.locator("#tags")).to_have_value("#canal")
    await expect(page.locator("#targets")).to_have_value("participants=50:people\nkg_litter=200:kg")

    await page.fill("#title", "Canal clean-up at Lock 7")
    await page.get_by_role("button", name="Save and notify followers").click()
    await expect(page.locator("h1")).to_have_text("Canal clean-up at Lock 7")
    await expect(page.locator(".flash")).to_have_text("Saved; followers get the update.")
    main = page.locator("main")
    await expect(main).to_contain_text("Lock 7, Towpath, Green Park")
    await expect(main.get_by_role("link", name="map")).to_have_attribute(
        "href", "https://www.openstreetmap.org/?mlat=51.5&mlon=-0.1#map=17/51.5/-0.1"
    )
    await expect(main).to_contain_text("Mon 12 Jul 2027 10:00–13:00 (Europe/London)")

    after = await stored(node, row.ap_id)
    assert after.title == "Canal clean-up at Lock 7"
    for kept in ("start", "end", "timezone", "place", "online_url", "goal", "targets", "tags"):
        assert getattr(after, kept) == getattr(before, kept), kept


async def test_a_new_call_is_made_from_a_local_date_time_and_zone(nodes, new_page):
    node = await nodes()
    await node.chapter("greenpark", title="Green Park Clean-up Crew", timezone="Europe/London")
    await node.member("olga", role="organiser", chapter="greenpark")
    await set_password(node, "olga")

    page = await new_page()
    await sign_in(page, node, "olga")
    await page.goto(f"{node.base_url}/actors/greenpark")
    await page.get_by_role("link", name="Create an action call").click()
    await expect(page.locator("#timezone")).to_have_value("Europe/London")  # the chapter's
    await page.fill("#title", "Harbour clean-up")
    await page.fill("#start_date", "2027-07-12")
    await page.fill("#start_time", "10:00")
    await page.fill("#end_time", "12:30")
    await page.select_option("#timezone", "America/New_York")
    await page.fill("#place", "Pier 45")
    await page.get_by_role("button", name="Publish").click()
    await expect(page.locator("h1")).to_have_text("Harbour clean-up")
    await expect(page.locator("main")).to_contain_text(
        "Mon 12 Jul 2027 10:00–12:30 (America/New_York)"
    )
    call = await stored(node, page.url)
    assert call.start == datetime(2027, 7, 12, 14, 0, tzinfo=UTC)
    assert call.timezone == "America/New_York"
