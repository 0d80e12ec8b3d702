"""Error mapping: every failure leaves as ``application/problem+json`` (or, for a browser, a
small HTML page) with a safe message. The same middleware forbids framing every HTML response.

Pages carry one-click forms (block a domain, retry deliveries, resolve a report): framed
invisibly by another site, a click there would submit them with the admin's cookies
(clickjacking). Every ``text/html`` answer, whichever handler or error made it, therefore says
``Content-Security-Policy: frame-ancestors 'none'`` (merged into a policy the page already
sends) and, for browsers that predate CSP 2, ``X-Frame-Options: DENY``. JSON, feeds and static
files are not pages and are left alone (embedding a feed elsewhere is meant to work).
"""

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


FRAME_ANCESTORS = "frame-ancestors 'none'"


def forbid_framing(response: web.StreamResponse) -> web.StreamResponse:
    """Add the no-framing headers to an HTML response not yet sent (see the module doc)."""
    if response.prepared or response.content_type != "text/html":
        return response
    policy = response.headers.get("Content-Security-Policy", "").strip().rstrip(";").strip()
    if "frame-ancestors" in policy.lower():
        return response  # the page chose who may frame it
    response.headers["Content-Security-Policy"] = (
        f"{policy}; {FRAME_ANCESTORS}" if policy else FRAME_ANCESTORS
    )
    response.headers["X-Frame-Options"] = "DENY"
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map failures to safe answers, and keep every HTML answer out of frames."""
    return forbid_framing(await _answer(request, handler))


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
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
