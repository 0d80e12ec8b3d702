"""Calling a node's JSON API over real HTTP with a bearer token."""

from __future__ import annotations

from typing import Any

import aiohttp


async def call_api(
    base_url: str, token: str | None, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{base_url}{path}", json=body, headers=headers) as resp,
    ):
        data = await resp.json(content_type=None) if resp.content_length != 0 else None
        return resp.status, data
