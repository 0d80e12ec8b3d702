"""Signing in and out, and signing up through an organiser's invitation link.

Each sign-in starts a fresh session (a session id fixed before sign-in is never promoted) with a
fresh CSRF token, holding the member's id and session epoch. Passwords, the sign-in limits and
invitations are checked by node/features/actors; too many attempts answer 429 with the sign-in
form, a ``Retry-After`` and a message saying when to try again.
"""

from __future__ import annotations

import secrets

from aiohttp import web
from aiohttp_session import get_session, new_session

from node.features.actors.authz import NotFoundError
from node.features.actors.invitations import (
    InvitationGone,
    OpenInvitation,
    SignupRefused,
    open_invitation,
    redeem_invitation,
)
from node.features.actors.revocation import revoke_sessions
from node.features.actors.signin import SignInThrottled, authenticate
from node.interfaces.web.common import back, page, require_member
from node.interfaces.web.interaction import take_return
from node.interfaces.web.language import PageLanguage, translator
from node.interfaces.web.session import check_csrf, remember_member
from node.interfaces.web.words import said
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from node.runtime.services import Services
from storage.models import LocalActor

routes = web.RouteTableDef()


async def _sign_in(request: web.Request, member: LocalActor) -> None:
    session = await new_session(request)  # a fresh session: no fixation
    remember_member(session, member)
    session["csrf"] = secrets.token_urlsafe(32)


def client_address(request: web.Request) -> str:
    """Who the per-address sign-in limit counts: the peer, or behind a trusted reverse proxy
    (``trust_forwarded_for``) the address that proxy appended last to X-Forwarded-For."""
    if request.app[SERVICES].settings.trust_forwarded_for:
        forwarded = request.headers.getall("X-Forwarded-For", [])
        last = forwarded[-1].rsplit(",", 1)[-1].strip() if forwarded else ""
        if last:
            return last
    return request.remote or "unknown"


def _wait_text(t: PageLanguage, seconds: int) -> str:
    if seconds < 120:
        return t.ngettext("%(num)s second", "%(num)s seconds", seconds)
    return t.ngettext("%(num)s minute", "%(num)s minutes", -(-seconds // 60))


@routes.get("/login")
async def login_form(request: web.Request) -> web.Response:
    return await page(request, "login.html")


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    services = request.app[SERVICES]
    t = await translator(request)
    try:
        actor = await authenticate(
            services,
            form.get("name", ""),
            form.get("password", ""),
            client=client_address(request),
        )
    except SignInThrottled as exc:
        wait = _wait_text(t, exc.retry_after)
        response = await page(
            request,
            "login.html",
            error=t.gettext(
                "%(reason)s Please try again in about %(wait)s.",
                reason=said(t, exc),  # the features' words (listed in web/words.py)
                wait=wait,
            ),
        )
        response.set_status(429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if actor is None:
        return await page(request, "login.html", error=t.gettext("Wrong name or password."))
    after = take_return(await get_session(request))  # read before the fresh session
    await _sign_in(request, actor)
    raise back(after or "/me")


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    await check_csrf(request)
    (await get_session(request)).invalidate()
    raise back("/")


@routes.post("/logout/everywhere")
async def logout_everywhere(request: web.Request) -> web.Response:
    """The member signs out of every browser at once (this one too)."""
    await check_csrf(request)
    who = await require_member(request)
    await revoke_sessions(request.app[SERVICES], who.actor.name)
    t = await translator(request)
    session = await get_session(request)
    session.invalidate()
    session["flash"] = t.gettext("You are signed out on every device.")
    raise back("/login")


async def _invitation(services: Services, token: str) -> OpenInvitation:
    try:
        return await open_invitation(services, token)
    except NotFoundError as exc:
        raise HttpError(404, str(exc)) from exc
    except InvitationGone as exc:
        raise HttpError(410, str(exc)) from exc


@routes.get("/invite/{token}")
async def signup_form(request: web.Request) -> web.Response:
    opened = await _invitation(request.app[SERVICES], request.match_info["token"])
    return await page(
        request, "signup.html", chapter=opened.chapter, token=request.match_info["token"]
    )


@routes.post("/invite/{token}")
async def signup(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    services = request.app[SERVICES]
    token = request.match_info["token"]
    opened = await _invitation(services, token)
    name, password = form.get("name", "").strip().lower(), form.get("password", "")
    try:
        member = await redeem_invitation(services, opened, name, password)
    except SignupRefused as exc:  # any refusal goes back to the form
        return await page(
            request,
            "signup.html",
            chapter=opened.chapter,
            token=token,
            error=said(await translator(request), exc),
        )
    except InvitationGone as exc:  # another sign-up used it meanwhile, or it just expired
        raise HttpError(410, str(exc)) from exc
    await _sign_in(request, member)
    raise back("/me")
