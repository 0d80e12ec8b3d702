"""A feature's refusal worded with data reaches the page in the reader's language, the data in
it: the call form's field errors, and a refusal shown on an error page (issue 18, "Many
languages"). Before, such a message was an English f-string that no catalogue could hold.

Real nodes on loopback, driven over HTTP as a browser (cookies, CSRF tokens, forms)."""

from __future__ import annotations

from sqlalchemy import func, select

from node.runtime.i18n import Catalogues
from storage.models import ActionCall as CallRow
from tests.node.interfaces.web.i18n_world import page_text, pseudo_catalogues, without_marked
from tests.node.interfaces.web.test_call_form_fields import form_of
from tests.rig.signin import browser, csrf, get, login, post, set_password


async def _organiser_and_form(nodes):
    node = await nodes()
    await node.chapter("greenpark", timezone="Europe/Paris")
    await node.member("olga", role="organiser", chapter="greenpark")
    await node.member("mia", chapter="greenpark")
    await set_password(node, "olga")
    await set_password(node, "mia")
    return node, node.services.ids.actor("greenpark")


def _bad_call(fields: dict[str, str]) -> dict[str, str]:
    """A new call whose capacity is refused by the features with the value in the message
    (``must be at least 1 (got 0)``), the rest of it valid."""
    return {
        **fields,
        "title": "Qzx",
        "start_date": "2027-05-02",
        "start_time": "10:00",
        "end_date": "",
        "end_time": "12:00",
        "capacity": "0",
    }


def _paragraph(html: str, opening: str) -> str:
    start = html.index(opening) + len(opening)
    return html[start : html.index("</p>", start)]


async def _stored(node) -> int:
    async with node.services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(CallRow)) or 0)


async def test_a_call_form_error_with_data_is_french(nodes):
    node, chapter = await _organiser_and_form(nodes)
    fr = Catalogues().translations("fr")
    french = {"Accept-Language": "fr"}
    async with browser() as http:
        assert (await login(http, node, "olga")).status == 303
        form = form_of((await get(http, f"{chapter}/actions/new", french)).text)
        refused = await post(http, f"{chapter}/actions/new", _bad_call(form.fields), french)
    assert refused.status == 400, refused.text[:2000]
    message = fr.gettext("must be at least 1 (got {value})")
    assert message != "must be at least 1 (got {value})"
    wanted = fr.gettext("{field}: {message}").format(
        field=fr.gettext("capacity"), message=message.format(value=0)
    )
    assert wanted in refused.text, page_text(refused.text)[0]
    assert "must be at least 1" not in refused.text
    assert await _stored(node) == 0


async def _leave_unknown(http, node, chapter: str, headers: dict[str, str]) -> tuple[str, str]:
    """Mia withdraws from a call she never RSVPed to: the feature refuses, naming her and the
    call; the refusal is flashed on /me. The call's id and the /me page are returned."""
    call = f"{chapter}/actions/01J0000000000000000000ZZZZ"
    token = await csrf(http, f"{node.base_url}/me")
    sent = await post(
        http, f"{node.base_url}/me/rsvp", {"csrf": token, "call": call, "leave": "1"}, headers
    )
    assert sent.status == 303, sent.text[:2000]
    return call, (await get(http, f"{node.base_url}/me", headers)).text


async def test_a_refused_rsvp_with_data_is_german(nodes):
    node, chapter = await _organiser_and_form(nodes)
    de = Catalogues().translations("de")
    german = {"Accept-Language": "de"}
    async with browser() as http:
        assert (await login(http, node, "mia")).status == 303
        call, page = await _leave_unknown(http, node, chapter, german)
    reason = de.gettext("{member} has no RSVP for {call}")
    assert reason != "{member} has no RSVP for {call}"
    wanted = de.gettext("Could not RSVP: %(reason)s") % {
        "reason": reason.format(member="mia", call=call)
    }
    assert wanted in page, page_text(page)[0]
    assert "has no RSVP" not in page


async def test_feature_errors_on_pages_say_nothing_outside_the_catalogue(nodes, tmp_path):
    """In a pseudo-language (every msgid marked ⟦…⟧) the form's field error and the flashed
    refusal leave nothing outside the marks but their data."""
    node, chapter = await _organiser_and_form(nodes)
    real = node.services.catalogues
    node.services.catalogues = pseudo_catalogues(tmp_path / "pseudo", "de")
    try:
        async with browser() as http:
            assert (await login(http, node, "olga")).status == 303
            german = {"Accept-Language": "de"}
            form = form_of((await get(http, f"{chapter}/actions/new", german)).text)
            refused = await post(http, f"{chapter}/actions/new", _bad_call(form.fields), german)
        async with browser() as http:
            assert (await login(http, node, "mia")).status == 303
            call, me = await _leave_unknown(http, node, chapter, {"Accept-Language": "de"})
    finally:
        node.services.catalogues = real
    assert refused.status == 400
    for shown, data in (
        (_paragraph(refused.text, '<p class="error" role="alert">'), ["0"]),
        (_paragraph(me, '<p class="flash" role="status">'), ["mia", call]),
    ):
        assert "⟦" in shown, shown
        rest = without_marked(shown)
        for value in data:
            rest = rest.replace(value, " ")
        assert rest.strip(" :()") == "", shown
