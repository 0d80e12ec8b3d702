"""A call's page once the call is over, on a real node whose clock the test moves: it says how
many came and shows the chapter's impact report, and nobody is invited to RSVP any more."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from node.runtime.clock import FrozenClock
from tests.rig.api import call_api
from tests.rig.signin import browser, get, login, set_password


def _visible(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


async def test_a_past_call_shows_who_came_and_its_report_and_takes_no_rsvp(nodes):
    clock = FrozenClock(datetime.now(UTC))
    node = await nodes(clock=clock)
    await node.chapter("greenpark", title="Green Park Clean-up Crew")
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    comers = [await node.member(name) for name in ("mia", "max")]
    nia = await node.member("nia", chapter="greenpark")  # she follows the chapter's calls
    await set_password(node, "nia")
    start = clock.now() + timedelta(hours=1)
    status, call = await call_api(
        node.base_url,
        olga.token,
        "POST",
        "/api/v1/chapters/greenpark/actions",
        {
            "title": "Canal clean-up",
            "start": start.isoformat(timespec="seconds"),
            "end": (start + timedelta(hours=2)).isoformat(timespec="seconds"),
            "place": {"name": "Lock 7"},
            "capacity": 30,
            "targets": [{"metric": "kg_litter", "unit": "kg", "target": 200}],
        },
    )
    assert status == 201, call
    for member in comers:
        status, answer = await call_api(
            node.base_url, member.token, "POST", "/api/v1/rsvps", {"call": call["id"]}
        )
        assert (status, answer["state"]) == (200, "accepted"), answer

    async with browser() as anyone:
        before = await get(anyone, call["id"])
    assert before.status == 200
    assert "2 of 30 people are coming" in _visible(before.text)

    clock.advance(timedelta(hours=4))  # the call is over
    path = call["id"].removeprefix(node.base_url)
    status, report = await call_api(
        node.base_url,
        olga.token,
        "POST",
        f"/api/v1/chapters/greenpark{path.removeprefix('/actors/greenpark')}/report",
        {
            "metrics": [
                {"metric": "kg_litter", "unit": "kg", "value": 12.5, "method": "estimated"},
                {"metric": "participants", "unit": "people", "value": 2, "method": "counted"},
            ],
            "text": "Twelve and a half kilos off the towpath.",
        },
    )
    assert status == 201, report

    async with browser() as anyone:
        after = await get(anyone, call["id"])
    text = _visible(after.text)
    assert after.status == 200
    assert "2 came" in text, text
    assert "people are coming" not in text, text
    assert "Sign in to RSVP" not in text, text
    table = _visible(after.text.split('id="impact-report"', 1)[1].split("</table>", 1)[0])
    assert "kg litter 12.5 kg estimated" in table, table
    assert "participants 2 people counted" in table, table
    assert "Twelve and a half kilos off the towpath." in text

    # The chapter page lists it among past calls the same way: who came, not who is coming.
    async with browser() as anyone:
        chapter_page = await get(anyone, f"{node.base_url}/actors/greenpark")
    past = _visible(chapter_page.text.split('id="past"', 1)[1].split("</section>", 1)[0])
    assert "Canal clean-up" in past and "2 came" in past and "coming" not in past, past

    async with browser() as http:  # a signed-in member who had not RSVPed: no button
        assert (await login(http, node, "nia")).status == 303
        page = await get(http, call["id"])
        feed = await get(http, f"{node.base_url}/me")
    assert "Canal clean-up" in feed.text  # the call is in her feed, without an RSVP button
    assert "RSVP: I&#39;ll be there" not in feed.text and "RSVP: I'll be there" not in feed.text
    assert page.status == 200 and "nia" in page.text
    assert "I'll be there" not in page.text and "I&#39;ll be there" not in page.text
    assert f'action="{call["id"]}/rsvp"' not in page.text
    # The node's own clock decides: the API refuses the RSVP the page no longer offers.
    status, problem = await call_api(
        node.base_url, nia.token, "POST", "/api/v1/rsvps", {"call": call["id"]}
    )
    assert status == 409 and "ended" in problem["detail"], problem


async def test_an_upcoming_call_still_invites(nodes):
    node = await nodes()
    await node.chapter("greenpark")
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    await node.member("nia")
    await set_password(node, "nia")
    start = datetime.now(UTC) + timedelta(days=2)
    status, call = await call_api(
        node.base_url,
        olga.token,
        "POST",
        "/api/v1/chapters/greenpark/actions",
        {
            "title": "Canal clean-up",
            "start": start.isoformat(timespec="seconds"),
            "end": (start + timedelta(hours=2)).isoformat(timespec="seconds"),
            "capacity": 30,
        },
    )
    assert status == 201, call
    async with browser() as nia:
        assert (await login(nia, node, "nia")).status == 303
        page = await get(nia, call["id"])
    assert "0 of 30 people are coming" in _visible(page.text)
    assert f'action="{call["id"]}/rsvp"' in page.text
    assert "Impact report" not in page.text
