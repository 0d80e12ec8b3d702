"""Slots on the call form (issue 16), over plain HTTP as a browser without JavaScript uses it:
rows of time range, role and places, a few of them empty; the edit form shows the call's slots
and, sent back as shown, keeps them (same ids); a half-filled row is refused and stores
nothing; a signed-in member picks a slot on the call page."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import ActionCall as CallRow
from storage.models import Participant
from tests.node.interfaces.web.test_call_form_fields import form_of
from tests.rig.signin import browser, csrf, get, login, post, set_password


async def stored_calls(node) -> list[CallRow]:
    async with node.services.db.read() as session:
        return list(await session.scalars(select(CallRow)))


async def test_slot_rows_make_edit_and_keep_the_calls_slots(nodes):
    node = await nodes()
    await node.chapter("greenpark", timezone="Europe/London")
    await node.member("olga", role="organiser", chapter="greenpark")
    await node.member("mo", role="member", chapter="greenpark")
    for name in ("olga", "mo"):
        await set_password(node, name)
    chapter = node.services.ids.actor("greenpark")

    async with browser() as http:
        assert (await login(http, node, "olga")).status == 303
        form = form_of((await get(http, f"{chapter}/actions/new")).text)
        assert form.fields["slot_rows"] == "3" and form.fields["slot_name_2"] == ""
        typed = {
            **form.fields,
            "title": "Canal clean-up",
            "start_date": "2027-07-12",
            "start_time": "10:00",
            "end_time": "13:00",
            "slot_start_0": "10:00",
            "slot_end_0": "12:00",
            "slot_name_0": "litter pickers",
            "slot_capacity_0": "10",
            "slot_start_2": "12:00",  # a blank row in between is skipped
            "slot_end_2": "13:00",
            "slot_name_2": "sorting",
            "slot_capacity_2": "4",
        }
        # A half-filled row: refused, the form shown again with what was typed, nothing stored.
        refused = await post(http, f"{chapter}/actions/new", {**typed, "slot_capacity_2": ""})
        assert refused.status == 400, refused
        assert "slot 2 (sorting) needs a capacity" in refused.text
        assert form_of(refused.text).fields["slot_name_2"] == "sorting"
        late = await post(http, f"{chapter}/actions/new", {**typed, "slot_end_2": "14:00"})
        assert "is not within the call" in late.text
        assert await stored_calls(node) == []

        made = await post(http, f"{chapter}/actions/new", typed)
        assert made.status == 303, made.text[:2000]
        (row,) = await stored_calls(node)
        slots = row.document["chapterhouse:slots"]
        assert [(s["id"][-7:], s["name"], s["maximumAttendeeCapacity"]) for s in slots] == [
            ("#slot-1", "litter pickers", 10),
            ("#slot-2", "sorting", 4),
        ]
        assert row.capacity == 14

        # The edit form shows them (capacity blank: it is theirs) and three empty rows more.
        edit = form_of((await get(http, f"{row.ap_id}/edit")).text)
        assert edit.fields["capacity"] == ""
        assert edit.fields["slot_rows"] == "5"
        assert [edit.fields[f"slot_{f}_1"] for f in ("start", "end", "name", "capacity")] == [
            "12:00",
            "13:00",
            "sorting",
            "4",
        ]
        assert edit.fields["slot_name_4"] == ""
        same = await post(http, f"{row.ap_id}/edit", {**edit.fields, "title": "Canal!"})
        assert same.status == 303, same.text[:2000]
        (row,) = await stored_calls(node)
        assert row.title == "Canal!"
        assert [s["id"] for s in row.document["chapterhouse:slots"]] == [s["id"] for s in slots]
        assert row.capacity == 14

        # Emptying every row removes the slots.
        blank = {
            k: ("" if k.startswith("slot_") and k != "slot_rows" else v)
            for k, v in edit.fields.items()
        }
        assert (await post(http, f"{row.ap_id}/edit", blank)).status == 303
        (row,) = await stored_calls(node)
        assert "chapterhouse:slots" not in row.document

        # Back with slots; the call page shows their places left.
        assert (await post(http, f"{row.ap_id}/edit", edit.fields)).status == 303
        (row,) = await stored_calls(node)
        page = (await get(http, row.ap_id)).text
        assert '10:00–12:00 · litter pickers: <span class="places">10 places left</span>' in page

    # A member picks the sorting slot on the call page and gets a place in it.
    sorting = row.document["chapterhouse:slots"][1]["id"]
    async with browser() as http:
        assert (await login(http, node, "mo")).status == 303
        page = (await get(http, row.ap_id)).text
        assert f'<option value="{sorting}">12:00–13:00 · sorting (4 places left)</option>' in page
        token = await csrf(http, row.ap_id)
        answer = await post(http, f"{row.ap_id}/rsvp", {"csrf": token, "slot": sorting})
        assert answer.status == 303, answer.text[:2000]
        page = (await get(http, row.ap_id)).text
        assert 'sorting: <span class="places">3 places left</span>' in page
    async with node.services.db.read() as session:
        taken = list(await session.scalars(select(Participant)))
    assert [(p.actor, p.slot) for p in taken] == [(node.services.ids.actor("mo"), sorting)]
