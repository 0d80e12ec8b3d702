"""The outbox pages by position (``?page=N``) and links each next page by keyset (``?before=``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import aiohttp
import pytest

from storage.repositories import outbox as outbox_repo
from tests.rig.http import collection_items, get_json

T0 = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture
async def node(nodes):
    n = await nodes()
    chapter = (await n.chapter("riverside")).actor
    async with n.services.db.write() as session:
        for i in range(120):
            ap_id = f"{n.base_url}/activities/a{i:03d}"
            await outbox_repo.add(
                session,
                ap_id=ap_id,
                actor_id=chapter.id,
                activity_type="Create",
                body={"id": ap_id, "type": "Create", "actor": chapter.ap_id, "n": i},
                public=i % 10 != 3,  # a few followers-only activities are never listed
                now=T0 + timedelta(minutes=i),
            )
    return n


def _numbers(page: dict) -> list[int]:
    return [item["n"] for item in page["orderedItems"]]


PUBLIC = [i for i in reversed(range(120)) if i % 10 != 3]  # newest first


async def test_pages_link_next_by_keyset_and_cover_every_public_activity_once(node):
    outbox = f"{node.base_url}/actors/riverside/outbox"
    collection = await get_json(outbox)
    assert collection["totalItems"] == len(PUBLIC) == 108
    assert collection["first"] == f"{outbox}?page=1"

    first = await get_json(f"{outbox}?page=1")
    assert _numbers(first) == PUBLIC[:50]
    assert first["next"] == f"{outbox}?before=" + quote(
        f"{node.base_url}/activities/a{PUBLIC[49]:03d}", safe=""
    )
    assert "prev" not in first

    second = await get_json(first["next"])
    assert second["id"] == first["next"]
    assert second["partOf"] == outbox
    assert second["totalItems"] == 108
    assert _numbers(second) == PUBLIC[50:100]
    last = await get_json(second["next"])
    assert _numbers(last) == PUBLIC[100:]
    assert "next" not in last

    items = await collection_items(outbox)
    assert [item["n"] for item in items] == PUBLIC


async def test_page_numbers_still_work(node):
    outbox = f"{node.base_url}/actors/riverside/outbox"
    page = await get_json(f"{outbox}?page=2")
    assert _numbers(page) == PUBLIC[50:100]
    assert page["prev"] == f"{outbox}?page=1"
    assert page["next"].startswith(f"{outbox}?before=")
    assert _numbers(await get_json(page["next"])) == PUBLIC[100:]
    beyond = await get_json(f"{outbox}?page=4")
    assert beyond["orderedItems"] == []
    assert "next" not in beyond


@pytest.mark.parametrize(
    "before",
    [
        "https://elsewhere.example/activities/a001",  # not an activity of ours
        "{base}/activities/a013",  # ours, but followers-only
        "{base}/activities/nope",
    ],
)
async def test_an_unknown_cursor_is_refused(node, before):
    url = f"{node.base_url}/actors/riverside/outbox"
    async with (
        aiohttp.ClientSession() as s,
        s.get(
            url,
            params={"before": before.format(base=node.base_url)},
            headers={"Accept": "application/activity+json"},
        ) as r,
    ):
        assert r.status == 400


async def test_another_actors_activity_is_not_a_cursor(node):
    await node.chapter("hillside")
    async with (
        aiohttp.ClientSession() as s,
        s.get(
            f"{node.base_url}/actors/hillside/outbox",
            params={"before": f"{node.base_url}/activities/a050"},
            headers={"Accept": "application/activity+json"},
        ) as r,
    ):
        assert r.status == 400
