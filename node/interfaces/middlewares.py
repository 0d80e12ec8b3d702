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

import aiohttp_jinja2
import orjson
from aiohttp import web

from node.features.actors.authz import Forbidden, NotFoundError
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from protocol.errors import ChapterhouseError

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


#: What a browser is told for statuses whose handler said nothing more useful.
PLAIN_WORDS = {
    404: "There is no page at this address. It may have moved, or the link may be mistyped.",
    405: "This page does not take that kind of request.",
    500: "Something went wrong on this node; it logged the details.",
}
#: Headers of an aiohttp error that still matter on the page that replaces it.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def _worded(exc: BaseException, detail: str) -> ChapterhouseError | None:
    """The feature's error a refusal repeats (``raise HttpError(404, str(exc)) from exc``, or
    the error itself), when it carries a wording: the error page says it in the reader's
    language with its data (``ChapterhouseError.spoken``), not in English."""
    cause = exc if isinstance(exc, ChapterhouseError) else exc.__cause__
    if isinstance(cause, ChapterhouseError) and cause.wording is not None and str(cause) == detail:
        return cause
    return None


def _html_error(
    request: web.Request,
    status: int,
    detail: str,
    headers: dict[str, str] | None = None,
    worded: ChapterhouseError | None = None,
) -> web.Response:
    """The error as a page in the node's own look (its template), or a bare page when the
    pages are not set up (an app without templates)."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    services = request.app.get(SERVICES)
    node_name = services.settings.node_name if services is not None else ""
    if aiohttp_jinja2.APP_KEY in request.app:
        context = {
            "status": status,
            "phrase": phrase,
            "detail": detail,
            "worded": worded,
            "node_name": node_name,
        }
        body = aiohttp_jinja2.render_string("error.html", request, context)
    else:
        body = (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{status} {phrase}</title>"
            f'<link rel="stylesheet" href="/static/style.css"></head><body><main>'
            f'<h1>{status} {phrase}</h1><p class="error">{html.escape(detail)}</p>'
            f'<p><a href="/">Back to the front page</a></p></main></body></html>'
        )
    response = web.Response(status=status, text=body, content_type="text/html", headers=headers)
    response.headers["Vary"] = "Accept"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


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
            return _html_error(request, status, str(exc), worded=_worded(exc, str(exc)))
        return problem(status, str(exc))
    except HttpError as exc:
        log.info(
            "http.refused", extra={"path": request.path, "status": exc.status, "detail": exc.detail}
        )
        if _browser(request):
            worded = _worded(exc, exc.detail)
            return _html_error(request, exc.status, exc.detail, exc.headers, worded)
        return problem(exc.status, exc.detail, title=exc.title, headers=exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if _browser(request):
            kept = {k: exc.headers[k] for k in KEPT_HEADERS if k in exc.headers}
            detail = PLAIN_WORDS.get(exc.status) or exc.reason
            return _html_error(request, exc.status, detail, kept or None)
        return problem(exc.status, exc.text or exc.reason, headers=None)
    except Exception:
        log.exception("http.internal_error", extra={"path": request.path})
        if _browser(request):
            return _html_error(request, 500, PLAIN_WORDS[500])
        return problem(500, "internal error; the node logged the details")
