"""What every page module shares: who is signed in, rendering a page, flashes and redirects.

Rendering goes through ``page`` so that every page gets the same security headers (a strict
Content-Security-Policy, no sniffing, same-origin referrers) and the same base context (the
node's name, the CSRF token for its forms, the signed-in member, the flash message).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from node.features.actors.authz import NotFoundError, Principal
from node.features.actors.directory import find_local_actor
from node.features.calls.lookup import local_call as find_local_call
from node.features.notifications.listing import unread_count
from node.interfaces.web.language import N_, page_language
from node.interfaces.web.session import csrf_token, signed_in_member
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from storage.models import ActionCall as CallRow
from storage.models import LocalActor


async def current(request: web.Request) -> Principal | None:
    """The signed-in member, or ``None`` (also when their actor has gone or their sessions
    were revoked since)."""
    return await signed_in_member(request)


async def require_member(request: web.Request) -> Principal:
    """The signed-in member; anyone else is sent to the sign-in page."""
    who = await current(request)
    if who is None:
        raise web.HTTPSeeOther("/login")
    return who


async def page(request: web.Request, template: str, **context: Any) -> web.Response:
    """Render ``template`` with ``context`` plus the base context, under the pages' headers."""
    await page_language(request)  # the template's gettext, dates and numbers speak it
    session = await get_session(request)
    who = await current(request)
    services = request.app[SERVICES]
    flash = session.pop("flash", None)
    context.update(
        node_name=services.settings.node_name,
        authority=services.ids.authority,
        csrf=csrf_token(session),
        me=who.actor if who else None,
        me_admin=bool(who and who.is_admin),
        me_unread=await unread_count(services, who.actor.id) if who else 0,
        flash=flash,
    )
    response = aiohttp_jinja2.render_template(template, request, context)
    response.headers["Vary"] = "Accept, Accept-Language, Cookie"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


async def flash(request: web.Request, message: str) -> None:
    """A one-time message for the next page this browser sees."""
    (await get_session(request))["flash"] = message


def back(location: str) -> web.HTTPSeeOther:
    """The redirect after a form post (raise it), so reloading never posts twice."""
    return web.HTTPSeeOther(location)


async def named_actor(request: web.Request) -> LocalActor:
    """The local actor named in the URL's ``{name}``; 404 when there is none."""
    actor = await find_local_actor(request.app[SERVICES], request.match_info["name"])
    if actor is None:
        raise HttpError(404, N_("no such chapter on this node"))
    return actor


async def local_call(request: web.Request) -> tuple[CallRow, LocalActor]:
    """The local call at ``/actors/{name}/actions/{ulid}``, with its chapter; 404 otherwise."""
    services = request.app[SERVICES]
    call_id = services.ids.actor_part(
        request.match_info["name"], f"actions/{request.match_info['ulid']}"
    )
    try:
        return await find_local_call(services, call_id)
    except NotFoundError as exc:
        raise HttpError(404, str(exc)) from exc


def _instant(text: object) -> datetime:
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)  # unreadable: last
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def upcoming_first(calls: Iterable[dict[str, object]], now: datetime) -> list[dict[str, object]]:
    """Call cards in the order a reader plans by: the calls still to come (or under way), the
    soonest first, then the past ones, the latest first (``start``/``end`` as in ``call_json``)."""
    cards = list(calls)
    ahead = [c for c in cards if _instant(c.get("end")) >= now]
    behind = [c for c in cards if _instant(c.get("end")) < now]
    ahead.sort(key=lambda c: _instant(c.get("start")))
    behind.sort(key=lambda c: _instant(c.get("start")), reverse=True)
    return ahead + behind
