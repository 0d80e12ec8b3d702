"""The report form corrects a live report: it opens with the numbers as they stand, and saving
replaces them with what the box holds."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import aiohttp

from node.features.actors.authz import principal_by_name
from node.features.calls.lifecycle import create_action
from node.features.impact.chapter_impact import live_report
from node.features.impact.reports import create_report, parse_metric_args
from protocol.impact import parse_report
from tests.node.interfaces.web.test_pages_forms import HTML, _csrf, _set_password

# Under way: an action is reported on once it has started.
NOW = datetime.now(UTC).replace(microsecond=0)
CALL = {
    "title": "Canal clean-up",
    "start": (NOW - timedelta(hours=2)).isoformat(),
    "end": (NOW + timedelta(hours=1)).isoformat(),
}


async def test_the_correction_form_opens_with_the_current_numbers_and_saving_replaces_them(nodes):
    node = await nodes()
    await node.chapter("greenpark")
    await node.member("olga", role="organiser", chapter="greenpark")
    await _set_password(node, "olga", "correct horse battery")
    services = node.services
    async with services.db.read() as session:
        olga = await principal_by_name(session, "olga")
    call = await create_action(services, olga, "greenpark", CALL)
    report = await create_report(
        services,
        olga,
        call.ap_id,
        parse_metric_args(["participants=42:people", "kg_litter=120.5:kg"], "estimated"),
        "Forty-two of us cleared the towpath.",
    )

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = await _csrf(http, f"{node.base_url}/login")
        login = {"csrf": token, "name": "olga", "password": "correct horse battery"}
        async with http.post(f"{node.base_url}/login", headers=HTML, data=login) as resp:
            assert resp.status == 200
        async with http.get(f"{call.ap_id}/report", headers=HTML) as resp:
            assert resp.status == 200
            page = await resp.text()
        box = re.search(r'<textarea id="metrics"[^>]*>(.*?)</textarea>', page, re.S)
        assert box is not None, page
        assert html.unescape(box.group(1)).splitlines() == [
            "participants=42:people",
            "kg_litter=120.5:kg",
        ]
        selected = re.findall(r'<option value="([a-z_]+)" selected>', page)
        assert selected == ["estimated"], page
        text = re.search(r'<input id="text" name="text" value="([^"]*)"', page)
        assert text is not None and html.unescape(text.group(1)) == (
            "Forty-two of us cleared the towpath."
        )
        assert "Correct the report" in page

        # Saving the form: the box holds the whole new list (kg_litter left out is dropped).
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        form = {
            "csrf": csrf,
            "metrics": "participants=40:people\n",
            "method": "counted",
            "text": "",
        }
        async with http.post(f"{call.ap_id}/report", headers=HTML, data=form) as resp:
            assert resp.status == 200, await resp.text()

    stored = await live_report(services, call.ap_id)
    assert stored is not None and stored.ap_id == report.ap_id
    current = parse_report(stored.document, allow_http=True)
    assert [(m.metric, m.unit, m.value, m.method) for m in current.measures] == [
        ("participants", "people", 40, "counted")
    ]
    assert current.content == "Forty-two of us cleared the towpath."
