"""``/authorize_interaction``: where another server's "Follow from my server" sends our members.

Our WebFinger answers carry the OStatus subscribe template ``BASE/authorize_interaction?uri={uri}``
(node/interfaces/activitypub/wellknown.py). A member who typed their handle on another server's
page lands here with that server's actor in ``uri``; they see whom they would follow (name and
handle from the actor's own document) and confirm with a CSRF-protected form. Nothing is
followed by the GET: a link alone never makes a member follow anyone.

Someone not signed in is sent to the sign-in page and, once signed in, back here. Only this
page's own address is remembered for that (``remember_return``/``take_return``), so the sign-in
form cannot be made to redirect anywhere else.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import Session, get_session

from node.features.following.follow import FollowError, follow
from node.features.following.interaction import (
    TargetRefused,
    TargetUnreachable,
    describe_target,
)
from node.interfaces.web.common import back, current, flash, page, require_member
from node.interfaces.web.language import translator
from node.interfaces.web.session import check_csrf
from node.interfaces.web.words import said
from node.runtime.appkeys import SERVICES

routes = web.RouteTableDef()

PATH = "/authorize_interaction"
RETURN_KEY = "after_sign_in"
MAX_URI = 2048


def remember_return(session: Session, path_qs: str) -> None:
    """Where the sign-in form sends this browser next (this page only)."""
    if path_qs.startswith(PATH + "?") and len(path_qs) <= MAX_URI + 64:
        session[RETURN_KEY] = path_qs


def take_return(session: Session) -> str | None:
    """The page to go back to after signing in, once (``None``: the member's feed)."""
    value = session.pop(RETURN_KEY, None)
    if isinstance(value, str) and value.startswith(PATH + "?"):
        return value
    return None


def _status(exc: FollowError) -> int:
    if isinstance(exc, TargetUnreachable):
        return 502  # the other server did not answer: nothing wrong with the request
    if isinstance(exc, TargetRefused) and exc.malformed:
        return 400
    return 404  # no actor behind what was given


@routes.get(PATH)
async def authorize_form(request: web.Request) -> web.Response:
    """Whom the member would follow, and the form that confirms it."""
    if await current(request) is None:
        remember_return(await get_session(request), request.path_qs)
        raise web.HTTPSeeOther("/login")
    who = await require_member(request)
    uri = request.query.get("uri", "")
    if len(uri) > MAX_URI:
        t = await translator(request)
        return await _refused(request, uri[:80] + "…", t.gettext("the address is too long"), 400)
    try:
        target = await describe_target(request.app[SERVICES], who.actor.ap_id, uri)
    except FollowError as exc:
        t = await translator(request)
        return await _refused(request, uri, said(t, exc), _status(exc))
    return await page(request, "authorize.html", target=target, uri=uri)


async def _refused(request: web.Request, uri: str, reason: str, status: int) -> web.Response:
    response = await page(request, "authorize.html", target=None, uri=uri, error=reason)
    response.set_status(status)
    return response


@routes.post(PATH)
async def authorize(request: web.Request) -> web.Response:
    """The member confirmed: follow (a remote actor answers later with Accept or Reject)."""
    form = await check_csrf(request)
    who = await require_member(request)
    uri = form.get("uri", "")
    t = await translator(request)
    try:
        result = await follow(request.app[SERVICES], who.actor.name, uri)
    except FollowError as exc:
        await flash(request, t.gettext("Could not follow: %(reason)s", reason=said(t, exc)))
        raise back("/me") from None
    what = (
        t.gettext("waiting for their answer")
        if result.state == "pending"
        else t.gettext(result.state)
    )
    await flash(
        request, t.gettext("Following %(target)s (%(state)s).", target=result.target, state=what)
    )
    raise back("/me")
