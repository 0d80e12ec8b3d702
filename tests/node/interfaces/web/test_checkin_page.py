"""Check-in over HTTP on a real node whose clock the test moves: the organiser's page (one tap
per participant, walk-ins, the count and the code), a member entering the code on the call's
page while the call runs (a wrong code, too many tries and the wrong time are refused), the
past call's "N came", the report form pre-filled from attendance, and the report made with
``--from-attendance`` published as a Note carrying ``participants`` counted. Only organisers
see who came."""

from __future__ import annotations

import dataclasses
import html
import re
from datetime import UTC, datetime, timedelta

import aiohttp

from node.runtime.clock import FrozenClock
from protocol.events import build_event, parse_event
from protocol.slots import Slot, slot_id
from storage.repositories import actions as action_repo
from storage.repositories import attendance as attendance_repo
from tests.a11y.test_pages_accessibility import CHECKS, parse
from tests.rig.api import call_api
from tests.rig.nodes import Node, acli
from tests.rig.signin import Answer, browser, csrf, get, login, post, set_password

AP = {"Accept": "application/activity+json"}
CODE = re.compile(r'id="checkin-code" class="code">([0-9A-Z]{4}-[0-9A-Z]{4})<')


def _visible(text: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", text).split()))


def _accessible(page: Answer) -> None:
    """The same basics every page is held to (tests/a11y): labels, headings, unique ids..."""
    doc = parse(page.text)
    problems = [p for check in CHECKS.values() for p in check(doc)]
    assert not problems, problems


def _count(page: Answer) -> int:
    found = re.search(r'<strong id="came-count">(\d+)</strong>', page.text)
    assert found, page.text
    return int(found.group(1))


async def _recorded(node: Node, call: str) -> int:
    async with node.services.db.read() as session:
        return await attendance_repo.came_by_ap_id(session, call) or 0


async def _signed_in(http: aiohttp.ClientSession, node: Node, name: str) -> None:
    assert (await login(http, node, name)).status == 303


async def test_organisers_check_people_in_and_members_check_in_with_the_code(nodes):
    real_now = datetime.now(UTC).replace(microsecond=0)
    start, end = real_now - timedelta(hours=1), real_now + timedelta(hours=2)
    clock = FrozenClock(real_now - timedelta(hours=3))  # before check-in opens
    node = await nodes(clock=clock)
    await node.chapter("greenpark", title="Green Park Clean-up Crew")
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    mia = await node.member("mia", chapter="greenpark")
    maxi = await node.member("max", chapter="greenpark")
    await node.member("nia", chapter="greenpark")  # a member who did not RSVP
    for name in ("olga", "max", "nia"):
        await set_password(node, name)
    status, call = await call_api(
        node.base_url,
        olga.token,
        "POST",
        "/api/v1/chapters/greenpark/actions",
        {"title": "Canal clean-up", "start": start.isoformat(), "end": end.isoformat()},
    )
    assert status == 201, call
    call_id, sheet = call["id"], f"{call['id']}/checkin"
    for member in (mia, maxi):
        status, answer = await call_api(
            node.base_url, member.token, "POST", "/api/v1/rsvps", {"call": call_id}
        )
        assert (status, answer["state"]) == (200, "accepted"), answer

    # Nobody but the chapter's organisers sees or changes the check-in.
    async with browser() as anyone:
        assert (await get(anyone, sheet)).location == "/login"
    async with browser() as nia:
        await _signed_in(nia, node, "nia")
        token = await csrf(nia, call_id)
        assert (await get(nia, sheet)).status == 403
        tap = await post(nia, sheet, {"csrf": token, "actor": mia.actor.ap_id})
        assert tap.status == 403
        walk_in = await post(nia, f"{sheet}/walk-ins", {"csrf": token, "count": "5"})
        assert walk_in.status == 403
        assert f'href="{sheet}"' not in (await get(nia, call_id)).text
    assert await _recorded(node, call_id) == 0

    async with browser() as organiser:
        await _signed_in(organiser, node, "olga")
        page = await get(organiser, sheet)
        assert page.status == 200, page.text
        found = CODE.search(page.text)
        assert found, page.text
        code = found.group(1)
        assert _count(page) == 0
        assert 'aria-label="Check in mia"' in page.text
        assert 'aria-label="Check in max"' in page.text
        token = await csrf(organiser, sheet)

        tap = await post(organiser, sheet, {"csrf": token, "actor": mia.actor.ap_id})
        assert (tap.status, tap.location) == (303, sheet)
        page = await get(organiser, sheet)
        assert _count(page) == 1 and "Checked in: mia" in _visible(page.text)
        assert 'aria-label="Undo the check-in of mia"' in page.text
        # Undo, and check in again: one tap each.
        undo = await post(organiser, sheet, {"csrf": token, "actor": mia.actor.ap_id, "undo": "1"})
        assert undo.status == 303 and _count(await get(organiser, sheet)) == 0
        await post(organiser, sheet, {"csrf": token, "actor": mia.actor.ap_id})

        named = await post(organiser, f"{sheet}/walk-ins", {"csrf": token, "name": "Jo Bloggs"})
        counted = await post(organiser, f"{sheet}/walk-ins", {"csrf": token, "count": "2"})
        assert (named.status, counted.status) == (303, 303)
        page = await get(organiser, sheet)
        assert _count(page) == 4 and "Jo Bloggs" in page.text
        _accessible(page)

        # Bad input: a clear message, 422, nothing recorded.
        stranger = await post(
            organiser, sheet, {"csrf": token, "actor": f"{node.base_url}/actors/nobody"}
        )
        assert stranger.status == 422 and "is not a participant" in _visible(stranger.text)
        negative = await post(organiser, f"{sheet}/walk-ins", {"csrf": token, "count": "-3"})
        assert negative.status == 422 and "how many came" in _visible(negative.text)
        forged = await post(organiser, sheet, {"csrf": "wrong", "actor": maxi.actor.ap_id})
        assert forged.status == 403
        assert await _recorded(node, call_id) == 4

    async with browser() as member:
        await _signed_in(member, node, "max")
        early = await get(member, call_id)
        assert 'id="checkin"' not in early.text  # the call is not running yet
        token = await csrf(member, call_id)
        refused = await post(member, f"{call_id}/checkin/code", {"csrf": token, "code": code})
        assert refused.status == 409 and "check-in opens at" in _visible(refused.text)

        clock.advance(timedelta(hours=3))  # under way
        page = await get(member, call_id)
        assert 'id="checkin"' in page.text and f'action="{call_id}/checkin/code"' in page.text
        _accessible(page)
        wrong = await post(member, f"{call_id}/checkin/code", {"csrf": token, "code": "AAAA-AAAA"})
        assert wrong.status == 422 and "not this call's check-in code" in _visible(wrong.text)
        assert await _recorded(node, call_id) == 4
        typed = code.replace("-", " ").lower()  # case and separators are forgiven
        right = await post(member, f"{call_id}/checkin/code", {"csrf": token, "code": typed})
        assert (right.status, right.location) == (303, call_id), right.text
        after = await get(member, call_id)
        assert "You are checked in" in after.text and 'id="checkin"' not in after.text
        assert code not in after.text  # the code is the organisers' to show, not the page's
    assert await _recorded(node, call_id) == 5

    # Guessing is capped per member: five tries, then even the right code must wait.
    async with browser() as guesser:
        await _signed_in(guesser, node, "nia")
        token = await csrf(guesser, call_id)
        for guess in range(5):
            answer = await post(
                guesser, f"{call_id}/checkin/code", {"csrf": token, "code": f"ZZZZ-ZZZ{guess}"}
            )
            assert answer.status == 422, answer
        throttled = await post(guesser, f"{call_id}/checkin/code", {"csrf": token, "code": code})
        assert throttled.status == 429 and int(throttled.headers["Retry-After"]) > 0
        assert "Too many check-in codes" in _visible(throttled.text)
    assert await _recorded(node, call_id) == 5

    clock.advance(timedelta(hours=2, minutes=1))  # the call has ended
    async with browser() as late:
        await _signed_in(late, node, "olga")
        token = await csrf(late, call_id)
        closed = await post(late, f"{call_id}/checkin/code", {"csrf": token, "code": code})
        assert closed.status == 409 and "check-in is closed" in _visible(closed.text)
        form = await get(late, f"{call_id}/report")
        box = re.search(r'<textarea id="metrics"[^>]*>(.*?)</textarea>', form.text, re.S)
        assert box and box.group(1).strip() == "participants=5:people", form.text
        assert re.search(r'<option value="counted" selected>', form.text)
        assert "5 people checked in: pre-filled, counted." in _visible(form.text)

    # The public page shows only the count: 5 came (the roster had 2), and no names.
    async with browser() as anyone:
        public = await get(anyone, call_id)
        document = await get(anyone, call_id, AP)
    assert "5 came" in _visible(public.text)
    assert "Jo Bloggs" not in public.text and "Jo Bloggs" not in document.text

    made = await acli(
        "report", "create", "--call", call_id, "--as", "olga", "--from-attendance",
        "--data", str(node.data_dir), env=node.cli_env,
    )  # fmt: skip
    report_id = made.stdout.strip()
    async with aiohttp.ClientSession() as http, http.get(report_id, headers=AP) as resp:
        assert resp.status == 200
        note = await resp.json(content_type=None)
    assert note["type"] == "Note" and note["chapterhouse:reportOf"] == call_id
    assert note["chapterhouse:metrics"] == [
        {"metric": "participants", "unit": "people", "value": 5, "method": "counted"}
    ]


async def test_the_checkin_page_groups_participants_by_slot(nodes):
    """Slots come from the call's Event (``chapterhouse:slots``) and each participant's place
    (``participants.slot``); a check-in keeps the slot it was for."""
    node = await nodes()
    await node.chapter("greenpark")
    olga = await node.member("olga", role="organiser", chapter="greenpark")
    members = [await node.member(name, chapter="greenpark") for name in ("mia", "max", "ben")]
    await set_password(node, "olga")
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = now - timedelta(hours=1), now + timedelta(hours=2)
    status, made = await call_api(
        node.base_url,
        olga.token,
        "POST",
        "/api/v1/chapters/greenpark/actions",
        {"title": "Canal clean-up", "start": start.isoformat(), "end": end.isoformat()},
    )
    assert status == 201, made
    call_id = made["id"]
    for member in members:
        status, _ = await call_api(
            node.base_url, member.token, "POST", "/api/v1/rsvps", {"call": call_id}
        )
        assert status == 200
    pickers, sorters = slot_id(call_id, 1), slot_id(call_id, 2)
    async with node.services.db.write() as session:
        row = await action_repo.call_by_ap_id(session, call_id)
        assert row is not None
        call = parse_event(row.document, allow_http=True)
        slots = (
            Slot(pickers, "litter pickers", start, start + timedelta(hours=2), 10),
            Slot(sorters, "sorting", start + timedelta(hours=2), end, 4),
        )
        row.document = build_event(dataclasses.replace(call, slots=slots))
        for place in await action_repo.participants(session, row.id):
            place.slot = {"mia": sorters, "max": pickers}.get(place.actor.rsplit("/", 1)[1])

    async with browser() as organiser:
        await _signed_in(organiser, node, "olga")
        page = await get(organiser, f"{call_id}/checkin")
        assert page.status == 200, page.text
        text = _visible(page.text.split('id="people-h"', 1)[1].split("Walk-ins", 1)[0])
        # In the call's slot order, then whoever holds no slot.
        assert re.search(r"litter pickers max .*sorting mia .*Other participants ben", text), text
        token = await csrf(organiser, f"{call_id}/checkin")
        tap = await post(organiser, f"{call_id}/checkin", {"csrf": token, "actor": "mia"})
        assert tap.status == 303
    async with node.services.db.read() as session:
        row = await action_repo.call_by_ap_id(session, call_id)
        assert row is not None
        recorded = await attendance_repo.attendance_of(session, row.id)
    assert [(a.actor, a.slot) for a in recorded] == [(members[0].actor.ap_id, sorters)]
