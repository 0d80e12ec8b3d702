"""The check-in page at the door: on a 375 px phone, with JavaScript turned off, in a real
(headless) Chromium. Nothing overflows sideways (long names included), and one tap on a
participant's button checks them in; a walk-in is added through its form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from node.features.actors.local import create_actor
from node.features.calls.lifecycle import create_action
from node.features.calls.rsvp import rsvp
from tests.browser.conftest import SCREENSHOTS, TIMEOUT_MS, sign_in, skip_reason
from tests.browser.test_phone_fit import OVERFLOW_JS, PHONE
from tests.browser.world import principal, set_password

_reason = skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

LONG_NAME = "Maximiliana-Theodora-Wolfeschlegelsteinhausen-Bergerdorff"


async def test_the_checkin_page_fits_a_phone_and_works_without_javascript(nodes, browser):
    node = await nodes()
    await node.chapter("greenpark", title="Green Park Clean-up Crew")
    await node.member("olga", role="organiser", chapter="greenpark")
    await set_password(node, "olga")
    now = datetime.now(UTC).replace(microsecond=0)
    call = await create_action(
        node.services,
        await principal(node, "olga"),
        "greenpark",
        {
            "title": "Canal clean-up",
            "start": (now - timedelta(minutes=20)).isoformat(),
            "end": (now + timedelta(hours=2)).isoformat(),
        },
    )
    for name, title in (("mia", "Mia"), ("maxi", LONG_NAME), ("ben", "Ben")):
        await create_actor(node.services, name, "member", title=title, role="member")
        await rsvp(node.services, await principal(node, name), call.ap_id)

    context = await browser.new_context(
        viewport=PHONE,
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        java_script_enabled=False,
    )
    context.set_default_timeout(TIMEOUT_MS)
    phone = await context.new_page()
    await sign_in(phone, node, "olga")
    response = await phone.goto(f"{call.ap_id}/checkin")
    assert response is not None and response.ok
    assert await phone.locator("#came-count").inner_text() == "0"

    await phone.get_by_role("button", name=f"Check in {LONG_NAME}").click()
    await phone.wait_for_url(f"{call.ap_id}/checkin")
    assert await phone.locator("#came-count").inner_text() == "1"
    assert await phone.get_by_role("button", name=f"Undo the check-in of {LONG_NAME}").count()

    await phone.fill("#walk-in-name", "Jo Bloggs")
    await phone.get_by_role("button", name="Add walk-in").click()
    await phone.wait_for_url(f"{call.ap_id}/checkin")
    assert await phone.locator("#came-count").inner_text() == "2"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await phone.screenshot(path=str(SCREENSHOTS / "phone-checkin.png"), full_page=True)
    found = await phone.evaluate(OVERFLOW_JS, PHONE["width"])
    assert found["scrollWidth"] <= PHONE["width"] and not found["offenders"], found
    await context.close()
