"""Hand-made signed requests, for tests that play a (possibly hostile) remote server."""

from __future__ import annotations

from datetime import datetime

import aiohttp
import orjson

from node.runtime.clock import SystemClock
from protocol.httpsig import HttpRequest, sign_request_cavage
from protocol.keys import PrivateKey


def signed_post_headers(
    url: str,
    body: bytes,
    *,
    key_id: str,
    key: PrivateKey,
    now: datetime | None = None,
    content_type: str = "application/activity+json",
) -> dict[str, str]:
    request = HttpRequest.from_mapping("POST", url, {"Content-Type": content_type}, body)
    signed = sign_request_cavage(
        request, key_id=key_id, private_key=key, now=now or SystemClock().now()
    )
    return dict(signed.headers)


async def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as resp,
    ):
        raw = await resp.read()
        try:
            detail = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            detail = {"raw": raw.decode("utf-8", "replace")}
        return resp.status, detail
