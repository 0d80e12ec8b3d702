"""The call form's language and translations, over plain HTTP as a browser without
JavaScript sends them: the language a call is written in is a ``<select>`` (the chapter's
languages first), its translations fixed rows of (language, title, description), stored as the
API stores them (``nameMap``/``contentMap``), kept by an edit, and a bad tag is refused (400)
with nothing stored."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from node.features.calls.lifecycle import call_from_row
from storage.models import ActionCall as CallRow
from tests.node.interfaces.web.test_call_form_fields import form_of
from tests.rig.signin import browser, get, login, post, set_password

TYPED = {
    "title": "Nettoyage du canal",
    "start_date": "2027-10-30",
    "start_time": "10:00",
    "end_date": "",
    "end_time": "13:00",
    "description": "<p>Apportez des gants</p>",
}


async def organiser_node(nodes):
    node = await nodes()
    await node.chapter("lyonverts", timezone="Europe/Paris", profile={"languages": ["fr", "pt-BR"]})
    await node.member("olga", role="organiser", chapter="lyonverts")
    await set_password(node, "olga")
    return node, node.services.ids.actor("lyonverts")


async def stored_calls(node) -> list[CallRow]:
    async with node.services.db.read() as session:
        return list(await session.scalars(select(CallRow)))


def options(page: str, select_id: str) -> list[str]:
    match = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert match, page
    return re.findall(r'<option value="([^"]*)"', match[1])


async def test_a_call_written_in_french_with_translations_keeps_them_when_edited(nodes):
    node, chapter = await organiser_node(nodes)
    async with browser() as http:
        assert (await login(http, node, "olga")).status == 303
        answer = await get(http, f"{chapter}/actions/new")
        assert answer.status == 200, answer
        # The chapter's languages first (its first chosen), then the shipped ones.
        assert options(answer.text, "language") == ["fr", "pt-BR", "en", "es", "de"]
        assert options(answer.text, "tr_language_0") == ["", "fr", "pt-BR", "en", "es", "de"]
        form = form_of(answer.text)
        assert form.fields["language"] == "fr"
        assert form.fields["translation_rows"] == "2"
        sent = {
            **form.fields,
            **TYPED,
            "tr_language_0": "en",
            "tr_title_0": "Canal clean-up",
            "tr_description_0": "<p>Bring gloves</p><script>x()</script>",
            "tr_language_1": "pt-BR",
            "tr_title_1": "Limpeza do canal",
        }
        made = await post(http, f"{chapter}/actions/new", sent)
        assert made.status == 303, made.text[:2000]
        [row] = await stored_calls(node)
        doc = row.document
        assert doc["name"] == "Nettoyage du canal"
        assert doc["nameMap"] == {
            "fr": "Nettoyage du canal",
            "en": "Canal clean-up",
            "pt-BR": "Limpeza do canal",
        }
        assert list(doc["contentMap"]) == ["fr", "en"]  # Mastodon reads the first key
        assert doc["contentMap"]["en"] == "<p>Bring gloves</p>"  # cleaned like the content

        # The edit form shows them all; sent back with only the title changed, all are kept.
        edit = await get(http, f"{row.ap_id}/edit")
        assert edit.status == 200
        # (the test's parser reads an empty option's value as its text, as no browser would)
        shown = {k: "" if v == "(choose)" else v for k, v in form_of(edit.text).fields.items()}
        assert shown["language"] == "fr" and shown["translation_rows"] == "4"
        assert [shown[f"tr_language_{i}"] for i in range(4)] == ["en", "pt-BR", "", ""]
        assert shown["tr_title_0"] == "Canal clean-up"
        assert shown["tr_description_0"] == "<p>Bring gloves</p>"
        saved = await post(http, f"{row.ap_id}/edit", {**shown, "title": "Grand nettoyage"})
        assert saved.status == 303, saved.text[:2000]
        [row] = await stored_calls(node)
        call = call_from_row(row, node.services)
        assert call.language == "fr" and call.title == "Grand nettoyage"
        assert row.document["nameMap"] == {
            "fr": "Grand nettoyage",
            "en": "Canal clean-up",
            "pt-BR": "Limpeza do canal",
        }

        # Emptying a row removes that translation.
        emptied = {**shown, "tr_title_1": "", "tr_language_1": "pt-BR"}
        assert (await post(http, f"{row.ap_id}/edit", emptied)).status == 303
        [row] = await stored_calls(node)
        assert set(row.document["nameMap"]) == {"fr", "en"}


async def test_a_bad_language_tag_is_refused_and_nothing_is_stored(nodes):
    node, chapter = await organiser_node(nodes)
    async with browser() as http:
        assert (await login(http, node, "olga")).status == 303
        form = form_of((await get(http, f"{chapter}/actions/new")).text)
        for bad in (
            {"language": "not a tag!"},
            {"tr_language_0": "x y", "tr_title_0": "Clean-up"},
            {"tr_language_0": "", "tr_title_0": "Clean-up"},  # a translation in no language
            {"tr_language_0": "fr", "tr_title_0": "Nettoyage"},  # the call's own language
            {
                "tr_language_0": "en",
                "tr_title_0": "Clean-up",
                "tr_language_1": "en",
                "tr_title_1": "Cleanup",
            },
        ):
            refused = await post(http, f"{chapter}/actions/new", {**form.fields, **TYPED, **bad})
            assert refused.status == 400, (bad, refused.text[:2000])
            alert = re.search(r'<p class="error" role="alert">(.*?)</p>', refused.text, re.S)
            assert alert and alert[1].strip(), (bad, refused.text[:2000])
            assert 'value="Nettoyage du canal"' in refused.text  # what was typed stays
        async with node.services.db.read() as session:
            assert await session.scalar(select(func.count()).select_from(CallRow)) == 0
