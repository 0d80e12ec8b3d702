"""Signing in and out, and signing up through an organiser's invitation link.

Each sign-in starts a fresh session (a session id fixed before sign-in is never promoted) with a
fresh CSRF token. Passwords and invitations are checked by node/features/actors.
"""

from __future__ import annotations

import secrets

from aiohttp import web
from aiohttp_session import get_session, new_session

from node.features.actors.authz import NotFoundError
from node.features.actors.invitations import (
    OpenInvitation,
    SignupRefused,
    open_invitation,
    redeem_invitation,
)
from node.features.actors.signin import authenticate
from node.interfaces.web.common import back, page
from node.interfaces.web.session import check_csrf
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from node.runtime.services import Services
from storage.models import LocalActor

routes = web.RouteTableDef()


async def _sign_in(request: web.Request, member: LocalActor) -> None:
    session = await new_session(request)  # a fresh session: no fixation
    session["member"] = member.name
    session["csrf"] = secrets.token_urlsafe(32)


@routes.get("/login")
async def login_form(request: web.Request) -> web.Response:
    return await page(request, "login.html")


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    services = request.app[SERVICES]
    actor = await authenticate(services, form.get("name", ""), form.get("password", ""))
    if actor is None:
        return await page(request, "login.html", error="Wrong name or password.")
    await _sign_in(request, actor)
    raise back("/me")


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    await check_csrf(request)
    (await get_session(request)).invalidate()
    raise back("/")


async def _invitation(services: Services, token: str) -> OpenInvitation:
    try:
        return await open_invitation(services, token)
    except NotFoundError as exc:
        raise HttpError(404, str(exc)) from exc


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
            request, "signup.html", chapter=opened.chapter, token=token, error=str(exc)
        )
    await _sign_in(request, member)
    raise back("/me")
