"""Error mapping: every failure leaves as ``application/problem+json`` with a safe message."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from .errors import HttpError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem(
    status: int, detail: str, *, title: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    body = {
        "type": "about:blank",
        "title": title or web.HTTPException.__name__,
        "status": status,
        "detail": detail,
    }
    try:
        from http import HTTPStatus

        body["title"] = title or HTTPStatus(status).phrase
    except ValueError:
        pass
    return web.Response(
        status=status,
        body=orjson.dumps(body),
        content_type="application/problem+json",
        headers=headers,
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HttpError as exc:
        log.info(
            "http.refused", extra={"path": request.path, "status": exc.status, "detail": exc.detail}
        )
        return problem(exc.status, exc.detail, title=exc.title, headers=exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem(exc.status, exc.text or exc.reason, headers=None)
    except Exception:
        log.exception("http.internal_error", extra={"path": request.path})
        return problem(500, "internal error; the node logged the details")
