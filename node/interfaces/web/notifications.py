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
from node.interfaces.web.language import translator
from node.interfaces.web.session import check_csrf
from node.interfaces.web.words import said
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError

routes = web.RouteTableDef()
MAX_TOKEN = 200


def masked(address: str) -> str:
    """Enough of an address for its owner to recognise it (``a…@example.org``), not more: a
    link can be forwarded with the mail it came in."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}"


async def _token(request: web.Request) -> str:
    token = request.query.get("token", "")
    if not token or len(token) > MAX_TOKEN:
        t = await translator(request)
        raise HttpError(
            400, t.gettext("this unsubscribe link has no token; use the link from the e-mail")
        )
    return token


@routes.get("/unsubscribe")
async def unsubscribe_page(request: web.Request) -> web.Response:
    token = await _token(request)
    try:
        target = await link_target(request.app[SERVICES], token)
    except InvalidUnsubscribeLink as exc:
        t = await translator(request)
        raise HttpError(
            403, t.gettext("%(reason)s: nothing was changed", reason=said(t, exc))
        ) from exc
    return await page(
        request,
        "unsubscribe.html",
        token=token,
        address=masked(target.address) if target.address else None,
        outcome=None if target.address else Outcome.ALREADY_OFF,
    )


@routes.post("/unsubscribe")
async def unsubscribe_post(request: web.Request) -> web.Response:
    token = await _token(request)
    try:
        outcome = await unsubscribe(request.app[SERVICES], token)
    except InvalidUnsubscribeLink as exc:
        t = await translator(request)
        raise HttpError(
            403, t.gettext("%(reason)s: nothing was changed", reason=said(t, exc))
        ) from exc
    return await page(request, "unsubscribe.html", token=token, address=None, outcome=outcome)


@routes.post("/me/notifications/read")
async def me_mark_read(request: web.Request) -> web.Response:
    await check_csrf(request)
    who = await require_member(request)
    count = await mark_read(request.app[SERVICES], who.actor.id, None)
    t = await translator(request)
    await flash(
        request,
        t.ngettext(
            "Marked %(num)s notification read.", "Marked %(num)s notifications read.", count
        ),
    )
    raise back("/me#notifications")


@routes.post("/me/settings")
async def me_settings(request: web.Request) -> web.Response:
    """The member's e-mail address (empty: none) and their choice of reminders."""
    form = await check_csrf(request)
    who = await require_member(request)
    email = form.get("email")  # absent: kept; empty: no e-mail
    reminders = form.get("reminders", "on")
    t = await translator(request)
    if reminders not in ("on", "off"):
        raise HttpError(400, t.gettext("reminders must be 'on' or 'off'"))
    try:
        member = await update_member_settings(
            request.app[SERVICES],
            who.actor.id,
            email=KEEP if email is None else email,
            reminders=reminders == "on",
        )
    except AddressError as exc:
        await flash(request, t.gettext("Nothing was changed: %(reason)s.", reason=said(t, exc)))
        raise back("/me#settings") from exc
    except NotFoundError as exc:
        raise HttpError(403, str(exc)) from exc
    if member.email:
        where = t.gettext("to %(address)s", address=member.email)
    else:
        where = t.gettext("nowhere (in-app only)")
    turned = t.gettext("on") if member.reminders else t.gettext("off")
    await flash(
        request,
        t.gettext(
            "Saved: notifications go %(where)s; reminders are %(turned)s.",
            where=where,
            turned=turned,
        ),
    )
    raise back("/me#settings")
