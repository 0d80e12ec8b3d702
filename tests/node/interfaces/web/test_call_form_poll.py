"""The new-call form offers the RSVP poll (``action create --poll`` on the command line): an
organiser who chooses it publishes the call and its poll at once; the default publishes no
poll, and a value the form never offers is refused with nothing stored."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import ActionCall as CallRow
from tests.node.interfaces.web.test_call_form_fields import form_of
from tests.rig.signin import browser, get, login, post, set_password


async def test_the_new_call_form_publishes_the_poll_when_asked(nodes) -> None:
    node = await nodes()
    await node.chapter("greenpark", timezone="Europe/London")
    await node.member("olga", role="organiser", chapter="greenpark")
    await set_password(node, "olga")
    chapter = node.services.ids.actor("greenpark")

    async def polls() -> list[str | None]:
        async with node.services.db.read() as session:
            return list(await session.scalars(select(CallRow.poll).order_by(CallRow.id)))

    async with browser() as http:
        assert (await login(http, node, "olga")).status == 303
        answer = await get(http, f"{chapter}/actions/new")
        form = form_of(answer.text)
        assert form.fields["poll"] == "no"  # no poll unless the organiser asks
        typed = {
            **form.fields,
            "title": "Canal clean-up",
            "start_date": "2031-04-12",
            "start_time": "10:00",
            "end_date": "",
            "end_time": "13:00",
        }
        refused = await post(http, f"{chapter}/actions/new", {**typed, "poll": "maybe"})
        assert refused.status == 400 and "choose whether to publish a poll" in refused.text
        async with node.services.db.read() as session:
            assert await session.scalar(select(func.count()).select_from(CallRow)) == 0

        plain = await post(http, f"{chapter}/actions/new", typed)
        assert plain.status == 303, plain.text[:2000]
        with_poll = await post(http, f"{chapter}/actions/new", {**typed, "poll": "yes"})
        assert with_poll.status == 303, with_poll.text[:2000]
    first, second = await polls()
    assert first is None
    assert second is not None and "/polls/" in second
