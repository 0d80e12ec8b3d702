"""A signed-in member's pages: their feed and RSVPs (/me), following and RSVPing.

Every form here acts for the signed-in member only; the outcome is told by a flash message on
the page the member came from.
"""

from __future__ import annotations

from aiohttp import web

from node.features.actors.authz import NotFoundError
from node.features.calls.rsvp import RsvpError, commitments, leave, rsvp
from node.features.following.feed import feed_page
from node.features.following.follow import FollowError, follow, following, unfollow
from node.interfaces.web.common import back, flash, local_call, page, require_member
from node.interfaces.web.session import check_csrf
from node.runtime.appkeys import SERVICES

routes = web.RouteTableDef()


@routes.get("/me")
async def me(request: web.Request) -> web.Response:
    who = await require_member(request)
    services = request.app[SERVICES]
    items, _ = await feed_page(services, who, page=1, per_page=50)
    rows = await commitments(services, who)
    follows = await following(services, who.actor.name)
    return await page(
        request,
        "me.html",
        feed=items,
        commitment_rows=rows,
        commitments={c.call: c.state for c in rows},
        following=follows,
    )


@routes.post("/me/follow")
async def me_follow(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    who = await require_member(request)
    try:
        result = await follow(request.app[SERVICES], who.actor.name, form.get("target", ""))
        await flash(request, f"Following {result.target} ({result.state}).")
    except FollowError as exc:
        await flash(request, f"Could not follow: {exc}")
    raise back(request.headers.get("Referer") or "/me")


@routes.post("/me/unfollow")
async def me_unfollow(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    who = await require_member(request)
    try:
        await unfollow(request.app[SERVICES], who.actor.name, form.get("target", ""))
        await flash(request, "Unfollowed.")
    except FollowError as exc:
        await flash(request, f"Could not unfollow: {exc}")
    raise back(request.headers.get("Referer") or "/me")


async def _rsvp(request: web.Request, call_id: str, leaving: bool) -> None:
    who = await require_member(request)
    services = request.app[SERVICES]
    try:
        result = await (leave(services, who, call_id) if leaving else rsvp(services, who, call_id))
        await flash(
            request, f"RSVP {result.state}" + (f": {result.reason}" if result.reason else ".")
        )
    except (RsvpError, NotFoundError) as exc:
        await flash(request, f"Could not RSVP: {exc}")


@routes.post("/me/rsvp")
async def me_rsvp(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    await _rsvp(request, form.get("call", ""), leaving=bool(form.get("leave")))
    raise back("/me")


@routes.post("/actors/{name}/actions/{ulid}/rsvp")
async def call_rsvp(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    row, _ = await local_call(request)
    await _rsvp(request, row.ap_id, leaving=bool(form.get("leave")))
    raise back(row.ap_id)
