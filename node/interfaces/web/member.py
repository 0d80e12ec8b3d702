"""A signed-in member's pages: their feed and RSVPs (/me), following and RSVPing.

Every form here acts for the signed-in member only; the outcome is told by a flash message on
the page the member came from.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from node.features.actors.authz import NotFoundError
from node.features.actors.names import call_titles, names_of
from node.features.actors.people import set_show_commitments
from node.features.calls.rsvp import RsvpError, commitments, leave, rsvp
from node.features.following.feed import feed_page
from node.features.following.follow import FollowError, follow, following, unfollow
from node.features.notifications.listing import notifications_of
from node.features.notifications.notify import email_enabled
from node.features.notifications.wording import Speech
from node.interfaces.web.call_language import localized_item, reader_languages
from node.interfaces.web.common import (
    back,
    flash,
    local_call,
    page,
    require_member,
    upcoming_first,
)
from node.interfaces.web.language import translator
from node.interfaces.web.session import check_csrf
from node.interfaces.web.words import said
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from storage.models.states import CommitmentState

routes = web.RouteTableDef()


@routes.get("/me")
async def me(request: web.Request) -> web.Response:
    who = await require_member(request)
    services = request.app[SERVICES]
    t = await translator(request)
    items, _ = await feed_page(services, who, page=1, per_page=50)
    now = services.clock.now()
    items = upcoming_first(items, now)
    wanted = reader_languages(request)  # each call's title in the reader's language, if it has it
    items = [localized_item(item, wanted) for item in items]
    ended = {c["id"] for c in items if datetime.fromisoformat(str(c["end"])) <= now}  # no RSVP
    rows = await commitments(services, who)
    follows = await following(services, who.actor.name)
    # Every actor the page names, shown by name and handle (node/features/actors/names.py).
    named = [*(str(c["chapter"]) for c in items), *(f.target for f in follows)]
    people = await names_of(services, [*named, *(c.chapter for c in rows)])
    return await page(
        request,
        "me.html",
        people=people,
        titles=await call_titles(services, [c.call for c in rows]),
        feed=items,
        commitment_rows=rows,
        commitments={c.call: c.state for c in rows if c.state != CommitmentState.LEFT},
        following=follows,
        ended=ended,
        # Worded in the page's language (the ``messages`` catalogue: the same words as e-mails).
        notifications=await notifications_of(
            services,
            who.actor.id,
            speech=Speech(t.code, services.catalogues.translations(t.code, "messages")),
        ),
        email_enabled=email_enabled(services),
    )


@routes.post("/me/show-commitments")
async def me_show_commitments(request: web.Request) -> web.Response:
    """The member's choice to list their commitments on their public profile (off unless
    they turn it on)."""
    form = await check_csrf(request)
    who = await require_member(request)
    choice = form.get("show", "")
    t = await translator(request)
    if choice not in ("yes", "no"):
        raise HttpError(400, t.gettext("show must be 'yes' or 'no'"))
    try:
        await set_show_commitments(request.app[SERVICES], who, choice == "yes")
    except NotFoundError as exc:
        raise HttpError(403, str(exc)) from exc
    await flash(
        request,
        t.gettext("Your commitments are now shown on your profile.")
        if choice == "yes"
        else t.gettext("Your commitments are no longer shown on your profile."),
    )
    raise back("/me")


@routes.post("/me/follow")
async def me_follow(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    who = await require_member(request)
    t = await translator(request)
    try:
        result = await follow(request.app[SERVICES], who.actor.name, form.get("target", ""))
        await flash(
            request,
            t.gettext(
                "Following %(target)s (%(state)s).",
                target=result.target,
                state=t.gettext(result.state),
            ),
        )
    except FollowError as exc:
        await flash(request, t.gettext("Could not follow: %(reason)s", reason=said(t, exc)))
    raise back(request.headers.get("Referer") or "/me")


@routes.post("/me/unfollow")
async def me_unfollow(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    who = await require_member(request)
    t = await translator(request)
    try:
        await unfollow(request.app[SERVICES], who.actor.name, form.get("target", ""))
        await flash(request, t.gettext("Unfollowed."))
    except FollowError as exc:
        await flash(request, t.gettext("Could not unfollow: %(reason)s", reason=said(t, exc)))
    raise back(request.headers.get("Referer") or "/me")


async def _rsvp(request: web.Request, call_id: str, leaving: bool, slot: str | None = None) -> None:
    who = await require_member(request)
    services = request.app[SERVICES]
    t = await translator(request)
    try:
        result = await (
            leave(services, who, call_id) if leaving else rsvp(services, who, call_id, slot=slot)
        )
        state = t.gettext(result.state)
        await flash(
            request,
            t.gettext("RSVP %(state)s: %(reason)s", state=state, reason=result.reason)
            if result.reason
            else t.gettext("RSVP %(state)s.", state=state),
        )
    except (RsvpError, NotFoundError) as exc:
        await flash(request, t.gettext("Could not RSVP: %(reason)s", reason=said(t, exc)))


@routes.post("/me/rsvp")
async def me_rsvp(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    await _rsvp(request, form.get("call", ""), leaving=bool(form.get("leave")))
    raise back("/me")


@routes.post("/actors/{name}/actions/{ulid}/rsvp")
async def call_rsvp(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    row, _ = await local_call(request)
    slot = form.get("slot", "").strip() or None  # a shift or role picked on the call page
    await _rsvp(request, row.ap_id, leaving=bool(form.get("leave")), slot=slot)
    raise back(row.ap_id)
