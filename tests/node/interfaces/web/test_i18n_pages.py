"""Pages in many languages: which language a page is in, what it says it is in, and that every
page says every word in every shipped language (nothing left in English).

Real nodes on loopback, driven over HTTP as a browser would (cookies, forms, CSRF tokens).
"""

from __future__ import annotations

import re

import aiohttp
import pytest

from node.runtime.i18n import Catalogues
from storage.repositories import actors as actor_repo
from tests.browser.world import set_password
from tests.node.interfaces.web.i18n_world import (
    HTML,
    TRANSLATED,
    allowed_words,
    build_world,
    csrf_of,
    english_sentences,
    every_page,
    leftover_words,
    page_text,
    pseudo_catalogues,
    signed_in,
    unvisited_pages,
)


# -- tests ---------------------------------------------------------------------------------------
async def test_negotiation_setting_then_cookie_then_accept_language_then_default(nodes):
    node = await nodes(default_language="de")
    await node.chapter("greenpark")
    await node.member("ada")
    await set_password(node, "ada")
    base = node.base_url
    es = Catalogues().translations("es")
    de = Catalogues().translations("de")
    fr = Catalogues().translations("fr")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        # Nothing asked for: the node's default.
        async with http.get(f"{base}/", headers=HTML) as resp:
            body = await resp.text()
            assert page_text(body)[1] == "de" and resp.headers["Content-Language"] == "de"
            assert {"Accept-Language", "Cookie"} <= {
                v.strip() for v in resp.headers["Vary"].split(",")
            }
            assert de.gettext("Upcoming action calls") in body
        # The browser's languages, the first shipped one wins (q-values respected).
        headers = {**HTML, "Accept-Language": "pt-BR, fr-CA;q=0.8, es;q=0.5"}
        async with http.get(f"{base}/", headers=headers) as resp:
            body = await resp.text()
            assert page_text(body)[1] == "fr" and resp.headers["Content-Language"] == "fr"
            assert fr.gettext("Upcoming action calls") in body
        # ?lang= on one request; the switcher there comes back without it.
        async with http.get(f"{base}/login?lang=es&x=1", headers=headers) as resp:
            body = await resp.text()
            assert page_text(body)[1] == "es"
            assert '<input type="hidden" name="next" value="/login?x=1">' in body
        # The switcher: a cookie, over Accept-Language, and back to the page it was on.
        token = await csrf_of(http, f"{base}/login")
        async with http.post(
            f"{base}/language",
            headers=headers,
            data={"csrf": token, "lang": "es", "next": "/login"},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303 and resp.headers["Location"] == "/login"
        async with http.get(f"{base}/", headers=headers) as resp:
            body = await resp.text()
            assert page_text(body)[1] == "es" and es.gettext("Upcoming action calls") in body
        # Bad input: refused, in the page's language, nothing changed; no open redirect.
        async with http.post(
            f"{base}/language", headers=headers, data={"csrf": token, "lang": "xx"}
        ) as resp:
            assert resp.status == 400
        async with http.post(
            f"{base}/language",
            headers=headers,
            data={"csrf": token, "lang": "fr", "next": "//evil.example/"},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303 and resp.headers["Location"] == "/"
        async with http.post(f"{base}/language", headers=headers, data={"lang": "de"}) as resp:
            assert resp.status == 403  # no CSRF token
    # A member's own setting wins over the cookie and the browser; the switcher saves it.
    http = await signed_in(base, "ada")
    try:
        token = await csrf_of(http, f"{base}/me")
        async with http.post(
            f"{base}/language", headers=HTML, data={"csrf": token, "lang": "fr", "next": "/me"}
        ) as resp:
            assert resp.status == 200 and page_text(await resp.text())[1] == "fr"
    finally:
        await http.close()
    async with node.services.db.read() as session:
        assert (await actor_repo.local_actor_by_name(session, "ada")).language == "fr"
    async with node.services.db.read() as session:
        assert (await actor_repo.local_actor_by_name(session, "greenpark")).language is None
    http = await signed_in(base, "ada")  # a new browser: no cookie, another language
    try:
        http.cookie_jar.update_cookies({"lang": "es"})
        async with http.get(f"{base}/me", headers={**HTML, "Accept-Language": "de"}) as resp:
            body = await resp.text()
            assert page_text(body)[1] == "fr" and resp.headers["Content-Language"] == "fr"
            # The settings page offers the choice, the member's own one selected.
            assert re.search(r'<option value="fr" lang="fr" selected>', body)
    finally:
        await http.close()


async def test_error_pages_speak_the_browser_language(nodes):
    node = await nodes()
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{node.base_url}/no/such/page", headers={**HTML, "Accept-Language": "de"}
        ) as resp,
    ):
        body = await resp.text()
    de = Catalogues().translations("de")
    assert resp.status == 404 and page_text(body)[1] == "de"
    assert resp.headers["Content-Language"] == "de"
    assert de.gettext("Not Found") in body
    assert (
        de.gettext(
            "There is no page at this address. It may have moved, or the link may be mistyped."
        )
        in body
    )


@pytest.mark.timeout(180)
async def test_every_page_in_every_language_has_no_untranslated_words(nodes, tmp_path):
    """The pseudo-language first: every page, every word through the catalogue (a word outside
    the marks is a word no translator will ever see). Then each shipped language: no English
    sentence that has a translation is left on any page."""
    world = await build_world(nodes)
    pseudo = pseudo_catalogues(tmp_path / "pseudo", "de")
    real = (world.node.services.catalogues, world.hub.services.catalogues)
    world.node.services.catalogues = pseudo
    world.hub.services.catalogues = pseudo
    try:
        pages = await every_page(world, "de")
    finally:
        world.node.services.catalogues, world.hub.services.catalogues = real
    visited = [url for url, _, _ in pages]
    assert not unvisited_pages(world.node, visited), "pages this test does not render yet"
    allowed = allowed_words(world, "de")
    problems = []
    for url, status, html in pages:
        assert status in (200, 404), (url, status, html[:500])
        text, lang = page_text(html)
        assert lang == "de", url
        left = leftover_words(text, allowed)
        if left:
            problems.append(f"{url}: {left}")
    assert not problems, "words that never went through the catalogue:\n" + "\n".join(problems)

    for lang in TRANSLATED:
        english = english_sentences(lang)
        for url, _status, html in await every_page(world, lang):
            text, shown = page_text(html)
            assert shown == lang, url
            found = [f for f in english if f in text]
            assert not found, f"{url} in {lang} still says, in English: {found}"


async def test_flashes_and_form_errors_speak_the_members_language(nodes):
    node = await nodes()
    await node.member("ada")
    await set_password(node, "ada")
    base = node.base_url
    es = Catalogues().translations("es")
    http = await signed_in(base, "ada")
    try:
        token = await csrf_of(http, f"{base}/me")
        async with http.post(
            f"{base}/language", headers=HTML, data={"csrf": token, "lang": "es", "next": "/me"}
        ) as resp:
            assert resp.status == 200
        # A page module's own words, and a feature's message it shows as it is.
        async with http.post(
            f"{base}/me/follow",
            headers=HTML,
            data={"csrf": token, "target": f"ada@{node.authority}"},
        ) as resp:
            body = await resp.text()
        reason = es.gettext("an actor cannot follow itself")
        assert reason != "an actor cannot follow itself"
        assert es.gettext("Could not follow: %(reason)s") % {"reason": reason} in body
        async with http.post(
            f"{base}/me/notifications/read", headers=HTML, data={"csrf": token}
        ) as resp:
            body = await resp.text()
        assert (
            es.ngettext(
                "Marked %(num)s notification read.", "Marked %(num)s notifications read.", 0
            )
            % {"num": 0}
            in body
        )
    finally:
        await http.close()
