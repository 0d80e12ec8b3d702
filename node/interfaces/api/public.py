"""Public reads: JSON that anyone may fetch, from any web page, revalidated by ``ETag``.

A chapter's calls and a campaign's totals are already public as pages, Atom, iCalendar and
ActivityPub; the JSON API gives the same data to scripts and other sites without a token. Every
public read here:

- answers without a token (a token that is sent is still checked, so a bad one is a 401 and a
  good one is rate-limited as usual), and shows nothing the public documents do not show;
- sends ``Access-Control-Allow-Origin: *`` (never with credentials: cross-origin reads are
  anonymous) and answers the CORS preflight ``OPTIONS`` of its path;
- sends an ``ETag`` (a hash of the body) and answers ``If-None-Match`` with ``304 Not
  Modified`` and no body, so a page polling a campaign's totals costs a few bytes.

Writes are untouched: they keep ``api`` (node/interfaces/api/routes.py) and need a token.

Use it for any other public read (the directory): ``@public_get(routes, PATH)`` over a handler
``(request, who) -> data`` (``who`` is the token's principal or ``None``), or ``public_json``
and ``conditional`` directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from node.features.actors.authz import Forbidden, NotFoundError, Principal
from node.features.calls.input import FieldError
from node.interfaces.api.auth import optional_principal
from node.runtime.errors import HttpError

#: On every public answer, errors included (a page's fetch() can then read the problem).
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "ETag"}
#: The preflight's answer: reads only, revalidation allowed, no credentials.
PREFLIGHT = {
    **CORS,
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, If-None-Match",
    "Access-Control-Max-Age": "86400",
}
#: Anonymous answers may be kept a minute by browsers and shared caches.
PUBLIC_CACHE = "public, max-age=60"
#: A token holder's answer is revalidated each time (they may just have changed the data).
PRIVATE_CACHE = "private, no-cache"

Data = object
PublicHandler = Callable[[web.Request, Principal | None], Awaitable[Data]]
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def etag_of(body: bytes) -> str:
    """A strong validator: the same bytes give the same tag on every process of the node."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def none_match(request: web.Request, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, as RFC 9110 asks for GET)."""
    header = request.headers.get("If-None-Match")
    if header is None:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


def conditional(
    request: web.Request,
    body: bytes,
    content_type: str,
    *,
    cache: str = PUBLIC_CACHE,
    headers: dict[str, str] | None = None,
    charset: str | None = None,
) -> web.Response:
    """``body`` with its ``ETag``, or ``304`` with no body when the client holds it already."""
    tag = etag_of(body)
    common = {"ETag": tag, "Cache-Control": cache, **(headers or {})}
    if none_match(request, tag):
        return web.Response(status=304, headers=common)
    return web.Response(body=body, content_type=content_type, charset=charset, headers=common)


def public_json(request: web.Request, data: Data, *, cache: str = PUBLIC_CACHE) -> web.Response:
    """``data`` as public JSON: CORS for any origin, ``ETag`` and ``304``."""
    return conditional(request, orjson.dumps(data), "application/json", cache=cache, headers=CORS)


def public_read(handler: PublicHandler) -> Route:
    """The handler's data as public JSON; domain errors as precise problems, with CORS."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            who = await optional_principal(request)
            data = await handler(request, who)
        except HttpError as exc:
            raise HttpError(
                exc.status, exc.detail, title=exc.title, headers={**exc.headers, **CORS}
            ) from exc
        except NotFoundError as exc:
            raise HttpError(404, str(exc), headers=dict(CORS)) from exc
        except Forbidden as exc:
            raise HttpError(403, str(exc), headers=dict(CORS)) from exc
        except FieldError as exc:
            raise HttpError(
                422, str(exc), title=f"Invalid field: {exc.field}", headers=dict(CORS)
            ) from exc
        return public_json(request, data, cache=PUBLIC_CACHE if who is None else PRIVATE_CACHE)

    return wrapped


async def preflight(request: web.Request) -> web.Response:
    """The CORS preflight of a public read (a page sending ``If-None-Match`` asks first)."""
    return web.Response(status=204, headers=PREFLIGHT)


def public_get(routes: web.RouteTableDef, path: str) -> Callable[[PublicHandler], PublicHandler]:
    """Register ``handler`` as the public ``GET`` (and ``HEAD``) of ``path``, with its
    preflight ``OPTIONS``; the handler itself is returned unchanged (tests may call it)."""

    def register(handler: PublicHandler) -> PublicHandler:
        routes.get(path)(public_read(handler))
        routes.route("OPTIONS", path)(preflight)
        return handler

    return register
