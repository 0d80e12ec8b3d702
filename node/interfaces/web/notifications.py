"""A member's notifications and their settings on /me (mark read, e-mail address, reminders),
and the unsubscribe link every notification e-mail carries.

``/unsubscribe?token=...``: GET only shows what the link would do, with a button (link
checkers and mail scanners follow links, and must not unsubscribe anyone); POST does it. The
POST needs no CSRF token and no sign-in: the token is the authority, it cannot be forged
(``node/features/notifications/unsubscribe.py``), and a mail client's RFC 8058 one-click POST
(body ``List-Unsubscribe=One-Click``) arrives with neither.
"""

from __future__ import annotations

from aiohttp import web

from node.features.actors.authz import NotFoundError
from node.features.notifications.listing import mark_read
from node.features.notifications.preferences import KEEP, AddressError, update_member_settings
from node.features.notifications.unsubscribe import (
    InvalidUnsubscribeLink,
    Outcome,
    link_target,
    unsubscribe,
)
from node.interfaces.web.common import back, flash, page, require_member
from node.interfaces.web.session import check_csrf
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError

routes = web.RouteTableDef()
MAX_TOKEN = 200


def masked(address: str) -> str:
    """Enough of an address for its owner to recognise it (``a…@example.org``), not more: a
    link can be forwarded with the mail it came in."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}"


def _token(request: web.Request) -> str:
    token = request.query.get("token", "")
    if not token or len(token) > MAX_TOKEN:
        raise HttpError(400, "this unsubscribe link has no token; use the link from the e-mail")
    return token


@routes.get("/unsubscribe")
async def unsubscribe_page(request: web.Request) -> web.Response:
    token = _token(request)
    try:
        target = await link_target(request.app[SERVICES], token)
    except InvalidUnsubscribeLink as exc:
        raise HttpError(403, f"{exc}: nothing was changed") from exc
    return await page(
        request,
        "unsubscribe.html",
        token=token,
        address=masked(target.address) if target.address else None,
        outcome=None if target.address else Outcome.ALREADY_OFF,
    )


@routes.post("/unsubscribe")
async def unsubscribe_post(request: web.Request) -> web.Response:
    token = _token(request)
    try:
        outcome = await unsubscribe(request.app[SERVICES], token)
    except InvalidUnsubscribeLink as exc:
        raise HttpError(403, f"{exc}: nothing was changed") from exc
    return await page(request, "unsubscribe.html", token=token, address=None, outcome=outcome)


@routes.post("/me/notifications/read")
async def me_mark_read(request: web.Request) -> web.Response:
    await check_csrf(request)
    who = await require_member(request)
    count = await mark_read(request.app[SERVICES], who.actor.id, None)
    await flash(request, f"Marked {count} notification{'' if count == 1 else 's'} read.")
    raise back("/me#notifications")


@routes.post("/me/settings")
async def me_settings(request: web.Request) -> web.Response:
    """The member's e-mail address (empty: none) and their choice of reminders."""
    form = await check_csrf(request)
    who = await require_member(request)
    email = form.get("email")  # absent: kept; empty: no e-mail
    reminders = form.get("reminders", "on")
    if reminders not in ("on", "off"):
        raise HttpError(400, "reminders must be 'on' or 'off'")
    try:
        member = await update_member_settings(
            request.app[SERVICES],
            who.actor.id,
            email=KEEP if email is None else email,
            reminders=reminders == "on",
        )
    except AddressError as exc:
        await flash(request, f"Nothing was changed: {exc}.")
        raise back("/me#settings") from exc
    except NotFoundError as exc:
        raise HttpError(403, str(exc)) from exc
    where = f"to {member.email}" if member.email else "nowhere (in-app only)"
    turned = "on" if member.reminders else "off"
    await flash(request, f"Saved: notifications go {where}; reminders are {turned}.")
    raise back("/me#settings")
