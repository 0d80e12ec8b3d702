"""Error mapping: every failure leaves as ``application/problem+json`` with a safe message."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus

import orjson
from aiohttp import web

from node.features.actors.authz import Forbidden, NotFoundError
from node.runtime.errors import HttpError

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
    if title is None and status in HTTPStatus._value2member_map_:
        body["title"] = HTTPStatus(status).phrase
    return web.Response(
        status=status,
        body=orjson.dumps(body),
        content_type="application/problem+json",
        headers=headers,
    )


def _browser(request: web.Request) -> bool:
    """Pages get HTML errors; the API, inboxes and ActivityPub clients get problem+json."""
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and not request.path.startswith("/api/") and "json" not in accept


def _html_error(status: int, detail: str, headers: dict[str, str] | None = None) -> web.Response:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{status} {phrase}</title>'
        f'<link rel="stylesheet" href="/static/style.css"></head><body><main><h1>{status} {phrase}</h1>'
        f'<p class="error">{html.escape(detail)}</p><p><a href="/">Back to the front page</a></p>'
        f"</main></body></html>"
    )
    return web.Response(status=status, text=body, content_type="text/html", headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (Forbidden, NotFoundError) as exc:
        # A handler that did not expect the refusal still answers it as what it is.
        status = 403 if isinstance(exc, Forbidden) else 404
        log.info("http.refused", extra={"path": request.path, "status": status, "detail": str(exc)})
        if _browser(request):
            return _html_error(status, str(exc))
        return problem(status, str(exc))
    except HttpError as exc:
        log.info(
            "http.refused", extra={"path": request.path, "status": exc.status, "detail": exc.detail}
        )
        if _browser(request):
            return _html_error(exc.status, exc.detail, exc.headers)
        return problem(exc.status, exc.detail, title=exc.title, headers=exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem(exc.status, exc.text or exc.reason, headers=None)
    except Exception:
        log.exception("http.internal_error", extra={"path": request.path})
        return problem(500, "internal error; the node logged the details")
