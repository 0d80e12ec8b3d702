"""A chapter's place and topics, and a call in two languages, reach the nodes that follow it.

Real nodes on loopback (tests/federation/conftest.py): the chapter's node and two member nodes
whose members follow greenpark. The organiser sets the chapter's place over the API: the
followers' nodes receive an ``Update`` of the Group and keep its new ``location`` and ``tag``.
Then a call written in English with a French title and description: it federates with
``nameMap``/``contentMap`` (English first, as Mastodon reads the language), and a member on
another node reading French sees the French title, one reading English the English one.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from node.features.calls.lifecycle import call_from_row
from protocol.chapter_profile import ChapterProfile, Place, parse_chapter_profile
from protocol.events import call_text
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo
from tests.federation.conftest import Federation
from tests.rig.api import call_api
from tests.rig.nodes import Node, eventually
from tests.rig.reminders import call_body, create_call
from tests.rig.signin import browser, get, login, set_password

START = datetime.fromisoformat("2027-06-12T10:00:00+01:00")
PROFILE = {
    "place": {"name": "Green Park Lodge", "latitude": 51.5045, "longitude": -0.1489},
    "radiusKm": 5,
    "languages": ["en", "fr"],
    "topics": ["litter"],
}


async def _remote_document(node: Node, actor_id: str) -> dict[str, Any] | None:
    async with node.services.db.read() as session:
        row = await actor_repo.remote_actor(session, actor_id)
    return dict(row.document) if row is not None and row.document else None


async def test_followers_nodes_receive_the_groups_new_place_and_topics(federation: Federation):
    fed = federation
    status, body = await call_api(
        fed.chapter_node.base_url,
        fed.organiser_token,
        "PATCH",
        "/api/v1/chapters/greenpark",
        PROFILE,
    )
    assert status == 200, body
    expected = ChapterProfile(
        Place("Green Park Lodge", None, 51.5045, -0.1489), 5.0, (), ("en", "fr"), ("litter",)
    )
    for node in (fed.m1, fed.m2):

        async def updated(node: Node = node) -> bool:
            doc = await _remote_document(node, fed.chapter_id)
            return doc is not None and parse_chapter_profile(doc) == expected

        await eventually(updated, timeout=30, what=f"the Group's Update to reach {node.base_url}")
    doc = await _remote_document(fed.m1, fed.chapter_id)
    assert doc is not None and doc["location"]["radius"] == 5.0 and doc["location"]["units"] == "km"


async def _title_on_me(node: Node, name: str, accept_language: str) -> str:
    await set_password(node, name)
    async with browser() as http:
        assert (await login(http, node, name)).status == 303
        page = await get(http, f"{node.base_url}/me", {"Accept-Language": accept_language})
    assert page.status == 200, page.text
    return html.unescape(page.text)


async def test_a_call_in_two_languages_federates_with_maps_and_each_reader_sees_theirs(
    federation: Federation,
):
    fed = federation
    body = call_body(
        START,
        "Towpath clean-up",
        description="<p>Bring gloves.</p>",
        language="en",
        titleMap={"fr": "Nettoyage du chemin de halage"},
        descriptionMap={"fr": "<p>Apportez des gants.</p><script>alert(1)</script>"},
    )
    call_id = await create_call(fed.chapter_node, fed.organiser_token, body)

    async def arrived() -> bool:
        async with fed.m1.services.db.read() as session:
            row = await action_repo.call_by_ap_id(session, call_id)
        return row is not None

    await eventually(arrived, timeout=30, what="the call to reach m1")
    async with fed.m1.services.db.read() as session:
        row = await action_repo.call_by_ap_id(session, call_id)
        assert row is not None
        document = dict(row.document)
        call = call_from_row(row, fed.m1.services)
    assert list(document["nameMap"]) == ["en", "fr"]  # the call's own language first
    assert document["nameMap"]["fr"] == "Nettoyage du chemin de halage"
    assert document["contentMap"] == {
        "en": "<p>Bring gloves.</p>",
        "fr": "<p>Apportez des gants.</p>",  # cleaned like the content
    }
    assert document["name"] == "Towpath clean-up"  # plain properties stay for other readers
    assert call.language == "en"
    assert call_text(call, ["fr-CA", "en"]).title == "Nettoyage du chemin de halage"
    assert call_text(call, ["de"]).title == "Towpath clean-up"

    french = await _title_on_me(fed.m1, "alice", "fr-FR,fr;q=0.9,en;q=0.5")
    # The page is in French too, so the title needs no lang of its own.
    assert '">Nettoyage du chemin de halage</a>' in french and '<html lang="fr">' in french
    english = await _title_on_me(fed.m1, "bob", "en-GB,en;q=0.9")
    assert ">Towpath clean-up</a>" in english and "Nettoyage" not in english

    # The call's own page on the chapter's node: the reader's language when the call has it.
    async with browser() as http:
        fr_page = await get(http, call_id, {"Accept-Language": "fr"})
        de_page = await get(http, call_id, {"Accept-Language": "de"})
    assert "<h1>Nettoyage du chemin de halage</h1>" in fr_page.text
    assert "Apportez des gants." in fr_page.text and "<script>" not in fr_page.text
    # A German page showing the English original marks it as English.
    assert '<h1 lang="en">Towpath clean-up</h1>' in de_page.text
