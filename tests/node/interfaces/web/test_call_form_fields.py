"""The call form over plain HTTP, as a browser without JavaScript uses it (issue 15).

The edit form shows every field filled (address, coordinates, online link, hashtags, targets,
local date and time in the call's zone); sending it back with only the title changed keeps all
of them. The new-call form asks for a local date and time and a zone (the chapter's first),
never an RFC 3339 string, and refuses a time the zone skips without storing anything.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

from sqlalchemy import func, select

from node.features.actors.authz import principal_by_name
from node.features.calls.lifecycle import call_from_row, create_action
from storage.models import ActionCall as CallRow
from tests.rig.signin import browser, get, login, post, set_password

CALL = {
    "title": "Canal clean-up",
    "start": "2027-10-30T10:00",  # BST (+01:00), the day before the clocks go back
    "end": "2027-10-30T13:00",
    "timezone": "Europe/London",
    "place": {
        "name": "Lock 7",
        "address": "Towpath, Green Park",
        "latitude": 51.5,
        "longitude": -0.1,
    },
    "online_url": "https://meet.example/canal",
    "capacity": 30,
    "goal": "Clear the towpath",
    "targets": ["participants=50:people", "kg_litter=200.5:kg"],
    "tags": ["canal", "litter"],
    "description": "<p>Bring gloves</p>",
}


class FormFields(HTMLParser):
    """What a browser would send for the page's ``main form``: each field's name and value."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.types: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None
        self._first_option: str | None = None
        self._option: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name:
            self.fields[name] = a.get("value") or ""
            self.types[name] = a.get("type") or "text"
        elif tag == "textarea" and name:
            self._textarea, self.fields[name] = name, ""
        elif tag == "select" and name:
            self._select, self._first_option = name, None
            self.types[name] = "select"
        elif tag == "option" and self._select:
            self._option = a

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data
        elif self._select and self._option is not None:
            value = self._option.get("value") or data
            if self._first_option is None:
                self._first_option = value
            if "selected" in self._option:
                self.fields[self._select] = value
            self._option = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select:
            self.fields.setdefault(self._select, self._first_option or "")
            self._select = None


def form_of(page: str) -> FormFields:
    main = page[page.index("<main") :]
    parser = FormFields()
    parser.feed(main[: main.index("</form>")])
    return parser


async def test_the_edit_form_shows_every_field_and_a_title_edit_keeps_them(nodes):
    node = await nodes()
    await node.chapter("greenpark", timezone="Europe/London")
    await node.member("olga", role="organiser", chapter="greenpark")
    await set_password(node, "olga")
    async with node.services.db.read() as session:
        olga = await principal_by_name(session, "olga")
    row = await create_action(node.services, olga, "greenpark", CALL)
    before = call_from_row(row, node.services)

    async with browser() as http:
        assert (await login(http, node, "olga")).status == 303
        answer = await get(http, f"{row.ap_id}/edit")
        assert answer.status == 200, answer
        form = form_of(answer.text)
        shown = {
            k: v
            for k, v in form.fields.items()
            if k != "csrf" and not k.startswith(("slot", "tr_", "translation_rows"))
        }
        # No shifts or roles: three empty slot rows (test_call_form_slots.py fills them).
        assert {k: v for k, v in form.fields.items() if k.startswith("slot")} == {
            "slot_rows": "3",
            **{f"slot_{f}_{i}": "" for f in ("start", "end", "name", "capacity") for i in range(3)},
        }
        assert shown == {
            "title": "Canal clean-up",
            "start_date": "2027-10-30",
            "start_time": "10:00",
            "end_date": "2027-10-30",
            "end_time": "13:00",
            "timezone": "Europe/London",
            "place": "Lock 7",
            "address": "Towpath, Green Park",
            "latitude": "51.5",
            "longitude": "-0.1",
            "online_url": "https://meet.example/canal",
            "capacity": "30",
            "goal": "Clear the towpath",
            "targets": "participants=50:people\nkg_litter=200.5:kg",
            "tags": "#canal #litter",
            "description": "<p>Bring gloves</p>",
            "language": "en",  # the node's default (the chapter names none)
        }
        assert (form.types["start_date"], form.types["start_time"]) == ("date", "time")
        assert form.types["timezone"] == "select"
        assert "start" not in form.fields  # never an RFC 3339 box

        # Only the title changes; the browser sends every field as the form shows it.
        sent = await post(http, f"{row.ap_id}/edit", {**form.fields, "title": "Canal clean-up!"})
        assert sent.status == 303, sent.text[:2000]

    async with node.services.db.read() as session:
        stored = await session.scalar(select(CallRow).where(CallRow.ap_id == row.ap_id))
    after = call_from_row(stored, node.services)
    assert after.title == "Canal clean-up!"
    for kept in ("start", "end", "timezone", "place", "online_url", "capacity", "goal"):
        assert getattr(after, kept) == getattr(before, kept), kept
    assert (after.targets, after.tags, after.content) == (
        before.targets,
        before.tags,
        before.content,
    )


async def test_the_new_call_form_asks_for_local_date_time_and_zone(nodes):
    node = await nodes()
    await node.chapter("greenpark", timezone="America/New_York")
    await node.member("olga", role="organiser", chapter="greenpark")
    await set_password(node, "olga")
    chapter = node.services.ids.actor("greenpark")

    async def stored() -> int:
        async with node.services.db.read() as session:
            return int(await session.scalar(select(func.count()).select_from(CallRow)) or 0)

    async with browser() as http:
        assert (await login(http, node, "olga")).status == 303
        answer = await get(http, f"{chapter}/actions/new")
        assert answer.status == 200, answer
        form = form_of(answer.text)
        assert form.fields["timezone"] == "America/New_York"  # the chapter's zone first
        assert "Europe/London" in answer.text  # ...among every IANA zone
        typed = {
            **form.fields,
            "title": "Night walk",
            "start_date": "2027-03-14",
            "start_time": "02:30",  # the clocks go from 02:00 to 03:00 that night
            "end_date": "",
            "end_time": "04:00",
        }
        refused = await post(http, f"{chapter}/actions/new", typed)
        assert refused.status == 400, refused
        assert "2027-03-14 02:30 does not exist in America/New_York" in refused.text
        assert await stored() == 0

        made = await post(http, f"{chapter}/actions/new", {**typed, "start_time": "01:30"})
        assert made.status == 303, made.text[:2000]
    assert made.location is not None
    async with node.services.db.read() as session:
        row = await session.scalar(select(CallRow))
    call = call_from_row(row, node.services)
    assert call.timezone == "America/New_York"
    assert call.start == datetime(2027, 3, 14, 6, 30, tzinfo=UTC)  # 01:30 EST
    assert call.end == datetime(2027, 3, 14, 8, 0, tzinfo=UTC)  # 04:00 EDT
