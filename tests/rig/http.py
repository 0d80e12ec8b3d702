"""Reading nodes over real HTTP, as any peer would."""

from __future__ import annotations

from typing import Any

import aiohttp

AP = "application/activity+json"


async def get_json(url: str, accept: str = AP) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers={"Accept": accept}) as resp,
    ):
        assert resp.status == 200, f"GET {url} answered {resp.status}: {await resp.text()}"
        return await resp.json(content_type=None)


async def collection_items(url: str, attempts: int = 5) -> list[Any]:
    """Every item of an OrderedCollection, following its pages.

    The collection and its pages are separate requests: when an activity lands between them
    (a test polling while an Undo is handled) the count and the items disagree, and the whole
    read is taken again. A disagreement that persists is a bug and fails the test."""
    for _ in range(attempts):
        collection = await get_json(url)
        items: list[Any] = []
        page_url = collection.get("first")
        while page_url:
            page = await get_json(page_url)
            items.extend(page["orderedItems"])
            page_url = page.get("next")
        if len(items) == collection["totalItems"]:
            return items
    raise AssertionError(f"{url}: totalItems {collection['totalItems']} but {len(items)} items")
