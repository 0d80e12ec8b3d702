"""The people's side: public pages, sign-in, members' feed, organisers' and admins' forms.

Every form carries a CSRF token; every page escapes what it shows (Jinja autoescape), and the
only HTML passed through is content already cleaned by the allow-list on the way in.
"""

from __future__ import annotations

import secrets
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session, new_session
from sqlalchemy import select

from node.features.actors.authz import (
    Forbidden,
    NotFoundError,
    Principal,
    principal_by_name,
    require_organiser,
)
from node.features.actors.local import create_actor, hash_token
from node.features.actors.passwords import check_password, hash_password
from node.features.calls.input import FieldError
from node.features.calls.lifecycle import call_from_row, cancel_action, create_action, update_action
from node.features.calls.rsvp import RsvpError, leave, rsvp
from node.features.following.follow import FollowError, follow, following, unfollow
from node.features.impact.campaigns import campaign_totals
from node.features.impact.reports import create_report, parse_metric_args, update_report
from node.features.moderation.blocks import block_domain
from node.interfaces.web.charts import line_chart, progress_bars
from node.interfaces.web.session import check_csrf, csrf_token
from node.runtime.appkeys import PARSED_CALLS, SERVICES
from node.runtime.errors import HttpError
from node.runtime.services import INSTANCE_ACTOR, Services
from protocol.errors import MalformedDocument
from protocol.events import summary_line
from protocol.ids import validate_local_name
from protocol.impact import json_number, parse_report
from protocol.webfinger import REMOTE_FOLLOW_REL, parse_handle
from storage.models import Follow, ImpactReport, Invitation, LocalActor
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo
from storage.repositories import delivery_admin
from storage.repositories import follows as follow_repo
from storage.repositories import moderation as moderation_repo

routes = web.RouteTableDef()


# -- helpers ---------------------------------------------------------------------------------
async def current(request: web.Request) -> Principal | None:
    session = await get_session(request)
    name = session.get("member")
    if not isinstance(name, str):
        return None
    services = request.app[SERVICES]
    async with services.db.read() as db:
        try:
            return await principal_by_name(db, name)
        except NotFoundError:
            return None


async def require_member(request: web.Request) -> Principal:
    who = await current(request)
    if who is None:
        raise web.HTTPSeeOther("/login")
    return who


async def page(request: web.Request, template: str, **context: Any) -> web.Response:
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
        flash=flash,
    )
    response = aiohttp_jinja2.render_template(template, request, context)
    response.headers["Vary"] = "Accept, Cookie"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


async def flash(request: web.Request, message: str) -> None:
    (await get_session(request))["flash"] = message


def back(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


async def is_organiser(services: Services, who: Principal | None, chapter: LocalActor) -> bool:
    if who is None:
        return False
    async with services.db.read() as db:
        try:
            await require_organiser(db, who, chapter)
            return True
        except Forbidden:
            return False


# -- public pages -----------------------------------------------------------------------------
@routes.get("/")
async def front(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    async with services.db.read() as db:
        chapters = await actor_repo.local_actors(db, ["chapter"])
        campaigns = await actor_repo.local_actors(db, ["campaign"])
    return await page(request, "front.html", chapters=chapters, campaigns=campaigns)


async def actor_page(request: web.Request, actor: LocalActor) -> web.Response:
    """The HTML face of /actors/{name} (chapter, campaign or member)."""
    services = request.app[SERVICES]
    who = await current(request)
    now = services.clock.now()
    async with services.db.read() as db:
        next_docs = await action_repo.upcoming_call_documents(db, actor.ap_id, now)
        past_docs = await action_repo.past_call_documents(db, actor.ap_id, now)
        followers = await follow_repo.count_followers(db, actor.ap_id)
        state = None
        if who is not None:
            row = await follow_repo.follow_between(db, who.actor.ap_id, actor.ap_id)
            state = row.state if row else None
    parsed = request.app[PARSED_CALLS]
    allow_http = services.settings.allow_http
    calls = [
        parsed.get(ap_id, stored, allow_http=allow_http)
        for ap_id, stored in [*next_docs, *past_docs]
    ]
    upcoming = [_view(c, s) for c, s in calls if c.end >= now]
    past = [_view(c, s) for c, s in calls if c.end < now]
    organiser = await is_organiser(services, who, actor)
    if actor.kind == "campaign":
        totals = await campaign_totals(services, actor.name)
        targets = {(t.metric, t.unit): t.target for c, _ in calls for t in c.targets}
        measured: list[tuple[str, str, float]] = [
            (str(t["metric"]), str(t["unit"]), float(str(t["value"]))) for t in totals.totals
        ]
        bars = progress_bars(
            [(f"{m} ({u})", amount, targets.get((m, u))) for m, u, amount in measured]
        )
        history = ""
        if measured:
            metric, unit = measured[0][0], measured[0][1]
            points = []
            for snapshot in totals.history:
                values = [
                    t for t in snapshot["totals"] if t["metric"] == metric and t["unit"] == unit
                ]
                points.append(
                    (str(snapshot["at"]), float(str(values[0]["value"])) if values else 0.0)
                )
            history = line_chart(points, f"{metric} ({unit})")
        shown_targets = {k: json_number_text(v) for k, v in targets.items()}
        return await page(
            request,
            "campaign.html",
            actor=actor,
            upcoming=upcoming,
            past=past,
            totals=totals,
            targets=shown_targets,
            bars=bars,
            history_chart=history,
            organiser=organiser,
        )
    impact: list[dict[str, object]] = []
    async with services.db.read() as db:
        reports = list(
            await db.scalars(
                select(ImpactReport).where(
                    ImpactReport.chapter == actor.ap_id, ImpactReport.retracted.is_(False)
                )
            )
        )
    sums: dict[tuple[str, str], Any] = {}
    for r in reports:
        try:
            for (metric, unit), value in parse_report(r.document, allow_http=True).values().items():
                sums[(metric, unit)] = sums.get((metric, unit), 0) + value
        except MalformedDocument:
            continue
    impact = [
        {"metric": m, "unit": u, "value": json_number(v)} for (m, u), v in sorted(sums.items())
    ]
    return await page(
        request,
        "chapter.html",
        actor=actor,
        followers=followers,
        following_state=state,
        upcoming=upcoming,
        past=past,
        impact=impact,
        organiser=organiser,
    )


def json_number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _view(call: Any, summary: str) -> dict[str, Any]:
    return {
        "id": call.id,
        "title": call.title,
        "summary": summary,
        "cancelled": call.cancelled,
        "participant_count": call.participant_count,
        "capacity": call.capacity,
    }


async def call_page(request: web.Request, row: Any) -> web.Response:
    services = request.app[SERVICES]
    call = call_from_row(row, services)
    who = await current(request)
    commitment = None
    organiser = False
    if who is not None:
        async with services.db.read() as db:
            mine = await action_repo.commitment(db, who.actor.id, call.id)
            commitment = mine.state if mine else None
            chapter = await db.get(LocalActor, row.local_actor_id) if row.local_actor_id else None
        organiser = chapter is not None and await is_organiser(services, who, chapter)
    map_url = None
    if (
        call.place is not None
        and call.place.latitude is not None
        and call.place.longitude is not None
    ):
        map_url = (
            f"https://www.openstreetmap.org/?mlat={call.place.latitude}&mlon={call.place.longitude}"
            f"#map=17/{call.place.latitude}/{call.place.longitude}"
        )
    return await page(
        request,
        "call.html",
        call=call,
        summary=summary_line(call),
        map_url=map_url,
        commitment=commitment,
        organiser=organiser,
    )


async def _local_call(request: web.Request) -> tuple[Any, LocalActor]:
    services = request.app[SERVICES]
    call_id = services.ids.actor_part(
        request.match_info["name"], f"actions/{request.match_info['ulid']}"
    )
    async with services.db.read() as db:
        row = await action_repo.call_by_ap_id(db, call_id)
        chapter = (
            await db.get(LocalActor, row.local_actor_id) if row and row.local_actor_id else None
        )
    if row is None or chapter is None:
        raise HttpError(404, "no such action call on this node")
    return row, chapter


async def _named_actor(request: web.Request) -> LocalActor:
    services = request.app[SERVICES]
    async with services.db.read() as db:
        actor = await actor_repo.local_actor_by_name(db, request.match_info["name"])
    if actor is None:
        raise HttpError(404, "no such chapter on this node")
    return actor


# -- sign-in ------------------------------------------------------------------------------------
@routes.get("/login")
async def login_form(request: web.Request) -> web.Response:
    return await page(request, "login.html")


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    services = request.app[SERVICES]
    async with services.db.read() as db:
        actor = await actor_repo.local_actor_by_name(db, form.get("name", "").strip().lower())
    if (
        actor is None
        or actor.kind != "member"
        or not check_password(form.get("password", ""), actor.password_hash)
    ):
        return await page(request, "login.html", error="Wrong name or password.")
    session = await new_session(request)  # a fresh session: no fixation
    session["member"] = actor.name
    session["csrf"] = secrets.token_urlsafe(32)
    raise back("/me")


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    await check_csrf(request)
    (await get_session(request)).invalidate()
    raise back("/")


# -- members -------------------------------------------------------------------------------------
@routes.get("/me")
async def me(request: web.Request) -> web.Response:
    who = await require_member(request)
    services = request.app[SERVICES]
    from node.features.calls.rsvp import commitments
    from node.features.following.feed import feed_page

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
    row, _ = await _local_call(request)
    await _rsvp(request, row.ap_id, leaving=bool(form.get("leave")))
    raise back(row.ap_id)


@routes.post("/actors/{name}/remote-follow")
async def remote_follow(request: web.Request) -> web.Response:
    """Remote interaction: send a fediverse user to their own server's follow page."""
    form = await check_csrf(request)
    actor = await _named_actor(request)
    services = request.app[SERVICES]
    try:
        handle = parse_handle(form.get("handle", ""))
    except MalformedDocument as exc:
        await flash(request, str(exc))
        raise back(actor.ap_id) from exc
    try:
        scheme = "http" if services.settings.allow_http else "https"
        url = f"{scheme}://{handle.host}/.well-known/webfinger?resource={handle.resource}"
        jrd = (
            await services.transport.get_json(
                url,
                accept="application/jrd+json",
                content_types={"application/jrd+json", "application/json"},
                cross_origin_redirects=True,
            )
        ).document
        links = jrd.get("links", []) if isinstance(jrd, dict) else []
        template = next(
            link["template"]
            for link in links
            if isinstance(link, dict)
            and link.get("rel") == REMOTE_FOLLOW_REL
            and "template" in link
        )
    except Exception:  # any failure means: we cannot send them there; say so
        await flash(
            request,
            f"{handle.host} does not offer remote following; search for "
            f"@{actor.name}@{services.ids.authority} in your app instead.",
        )
        raise back(actor.ap_id) from None
    raise web.HTTPFound(template.replace("{uri}", f"acct:{actor.name}@{services.ids.authority}"))


# -- organisers ------------------------------------------------------------------------------------
def _call_data(form: dict[str, str]) -> dict[str, object]:
    data: dict[str, object] = {
        k: form[k].strip()
        for k in ("title", "start", "end", "timezone", "goal", "description")
        if form.get(k, "").strip()
    }
    if form.get("place", "").strip():
        data["place"] = form["place"].strip()
    if form.get("capacity", "").strip():
        try:
            data["capacity"] = int(form["capacity"])
        except ValueError:
            raise FieldError("capacity", "must be a whole number") from None
    lines = [t.strip() for t in form.get("targets", "").splitlines() if t.strip()]
    if lines:
        data["targets"] = lines
    return data


@routes.get("/actors/{name}/actions/new")
async def new_call_form(request: web.Request) -> web.Response:
    who = await require_member(request)
    actor = await _named_actor(request)
    if not await is_organiser(request.app[SERVICES], who, actor):
        raise HttpError(403, "only organisers can create action calls")
    return await page(
        request,
        "call_form.html",
        heading=f"New action call for {actor.title or actor.name}",
        action=f"{actor.ap_id}/actions/new",
        button="Publish",
        values={},
    )


@routes.post("/actors/{name}/actions/new")
async def new_call(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    who = await require_member(request)
    actor = await _named_actor(request)
    try:
        row = await create_action(request.app[SERVICES], who, actor.name, _call_data(form))
    except FieldError as exc:
        return await page(
            request,
            "call_form.html",
            heading="New action call",
            action=f"{actor.ap_id}/actions/new",
            button="Publish",
            values=form,
            error=str(exc),
        )
    except Forbidden as exc:
        raise HttpError(403, str(exc)) from exc
    await flash(request, "Published to every follower.")
    raise back(row.ap_id)


@routes.get("/actors/{name}/actions/{ulid}/edit")
async def edit_call_form(request: web.Request) -> web.Response:
    who = await require_member(request)
    row, chapter = await _local_call(request)
    if not await is_organiser(request.app[SERVICES], who, chapter):
        raise HttpError(403, "only organisers can edit action calls")
    call = call_from_row(row, request.app[SERVICES])
    values = {
        "title": call.title,
        "start": call.start.isoformat(),
        "end": call.end.isoformat(),
        "timezone": call.timezone,
        "place": call.place.name if call.place else "",
        "goal": call.goal,
        "capacity": call.capacity or "",
        "description": call.content,
    }
    return await page(
        request,
        "call_form.html",
        heading=f"Edit {call.title}",
        action=f"{row.ap_id}/edit",
        button="Save and notify followers",
        values=values,
    )


@routes.post("/actors/{name}/actions/{ulid}/edit")
async def edit_call(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    who = await require_member(request)
    row, _ = await _local_call(request)
    try:
        await update_action(request.app[SERVICES], who, row.ap_id, _call_data(form))
    except FieldError as exc:
        return await page(
            request,
            "call_form.html",
            heading="Edit",
            action=f"{row.ap_id}/edit",
            button="Save",
            values=form,
            error=str(exc),
        )
    except Forbidden as exc:
        raise HttpError(403, str(exc)) from exc
    await flash(request, "Saved; followers get the update.")
    raise back(row.ap_id)


@routes.post("/actors/{name}/actions/{ulid}/cancel")
async def cancel_call(request: web.Request) -> web.Response:
    await check_csrf(request)
    who = await require_member(request)
    row, _ = await _local_call(request)
    try:
        await cancel_action(request.app[SERVICES], who, row.ap_id)
    except Forbidden as exc:
        raise HttpError(403, str(exc)) from exc
    await flash(request, "Cancelled; followers are told.")
    raise back(row.ap_id)


async def _report_of(services: Services, call_id: str) -> Any:
    async with services.db.read() as db:
        rows = list(
            await db.scalars(
                select(ImpactReport).where(
                    ImpactReport.call == call_id,
                    ImpactReport.local_actor_id.is_not(None),
                    ImpactReport.retracted.is_(False),
                )
            )
        )
    return rows[-1] if rows else None


@routes.get("/actors/{name}/actions/{ulid}/report")
async def report_form(request: web.Request) -> web.Response:
    who = await require_member(request)
    row, chapter = await _local_call(request)
    services = request.app[SERVICES]
    if not await is_organiser(services, who, chapter):
        raise HttpError(403, "only organisers can report impact")
    existing = await _report_of(services, row.ap_id)
    return await page(
        request,
        "report_form.html",
        call=call_from_row(row, services),
        report=existing.document if existing else None,
        values={},
    )


@routes.post("/actors/{name}/actions/{ulid}/report")
async def report_post(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    who = await require_member(request)
    row, _ = await _local_call(request)
    services = request.app[SERVICES]
    existing = await _report_of(services, row.ap_id)
    try:
        measures = parse_metric_args(
            [m for m in form.get("metrics", "").splitlines() if m.strip()],
            form.get("method", "counted"),
        )
        text = form.get("text", "").strip() or None
        if existing is None:
            await create_report(services, who, row.ap_id, measures, text)
        else:
            await update_report(services, who, existing.ap_id, measures, text)
    except FieldError as exc:
        return await page(
            request,
            "report_form.html",
            call=call_from_row(row, services),
            report=existing.document if existing else None,
            values=form,
            error=str(exc),
        )
    except Forbidden as exc:
        raise HttpError(403, str(exc)) from exc
    await flash(request, "Report published and sent to the campaign.")
    raise back(row.ap_id)


@routes.get("/actors/{name}/manage")
async def manage(request: web.Request) -> web.Response:
    who = await require_member(request)
    actor = await _named_actor(request)
    services = request.app[SERVICES]
    if not await is_organiser(services, who, actor):
        raise HttpError(403, "only organisers can manage a chapter")
    async with services.db.read() as db:
        pending = list(
            await db.scalars(
                select(Follow).where(Follow.target == actor.ap_id, Follow.state == "pending")
            )
        )
        calls = [
            {
                "call": call_from_row(r, services),
                "participants": await action_repo.participants(db, r.id),
            }
            for r in await action_repo.calls_of_chapter(db, actor.ap_id, limit=50)
        ]
    session = await get_session(request)
    invite_url = session.pop("invite_url", None)
    return await page(
        request, "manage.html", actor=actor, pending=pending, calls=calls, invite_url=invite_url
    )


@routes.post("/actors/{name}/approve")
async def approve(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    who = await require_member(request)
    actor = await _named_actor(request)
    services = request.app[SERVICES]
    from node.interfaces.activitypub.handlers.context import HandlerContext
    from node.interfaces.activitypub.handlers.follow import send_accept
    from protocol.activities import build_follow

    async with services.db.write() as db:
        await require_organiser(db, who, actor)
        row = await follow_repo.follow_between(db, form.get("follower", ""), actor.ap_id)
        if row is None or row.state != "pending":
            raise HttpError(404, "no such pending follow request")
        row.state = "accepted"
        if row.follower_inbox:
            ctx = HandlerContext(services, db)
            await send_accept(
                ctx,
                target_name=actor.name,
                follow=build_follow(row.activity_id, row.follower, actor.ap_id),
                inbox=row.follower_inbox,
            )
    services.wakeups.deliveries.set()
    await flash(request, f"Approved {form.get('follower')}.")
    raise back(f"{actor.ap_id}/manage")


@routes.post("/actors/{name}/invites")
async def invite(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    who = await require_member(request)
    actor = await _named_actor(request)
    services = request.app[SERVICES]
    role = form.get("role", "member")
    if role not in {"member", "organiser"}:
        raise HttpError(422, "role must be member or organiser")
    token = secrets.token_urlsafe(24)
    async with services.db.write() as db:
        await require_organiser(db, who, actor)
        db.add(
            Invitation(
                token_sha256=hash_token(token),
                chapter_id=actor.id,
                role=role,
                created_at=services.clock.now(),
            )
        )
    (await get_session(request))["invite_url"] = services.ids.url(f"invite/{token}")
    raise back(f"{actor.ap_id}/manage")


async def _invitation(services: Services, token: str) -> tuple[Invitation, LocalActor]:
    async with services.db.read() as db:
        inv = await db.scalar(
            select(Invitation).where(Invitation.token_sha256 == hash_token(token))
        )
        chapter = await db.get(LocalActor, inv.chapter_id) if inv else None
    if inv is None or chapter is None or inv.used_at is not None:
        raise HttpError(404, "this invitation link is not valid (or was already used)")
    return inv, chapter


@routes.get("/invite/{token}")
async def signup_form(request: web.Request) -> web.Response:
    _, chapter = await _invitation(request.app[SERVICES], request.match_info["token"])
    return await page(request, "signup.html", chapter=chapter, token=request.match_info["token"])


@routes.post("/invite/{token}")
async def signup(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    services = request.app[SERVICES]
    token = request.match_info["token"]
    inv, chapter = await _invitation(services, token)
    name, password = form.get("name", "").strip().lower(), form.get("password", "")
    try:
        validate_local_name(name)
        if len(password) < 10:
            raise ValueError("the password must have at least 10 characters")
        created = await create_actor(services, name, "member", role=inv.role, chapter=chapter.name)
    except (MalformedDocument, ValueError, Exception) as exc:  # any refusal goes back to the form
        return await page(request, "signup.html", chapter=chapter, token=token, error=str(exc))
    async with services.db.write() as db:
        member = await actor_repo.local_actor_by_name(db, name)
        assert member is not None
        member.password_hash = hash_password(password)
        used = await db.get(Invitation, inv.id)
        assert used is not None
        used.used_at = services.clock.now()
    session = await new_session(request)
    session["member"] = created.actor.name
    session["csrf"] = secrets.token_urlsafe(32)
    raise back("/me")


# -- admins --------------------------------------------------------------------------------------
async def require_admin(request: web.Request) -> Principal:
    who = await require_member(request)
    if not who.is_admin:
        raise HttpError(403, "only node admins can see this page")
    return who


@routes.get("/admin")
async def admin(request: web.Request) -> web.Response:
    await require_admin(request)
    services = request.app[SERVICES]
    async with services.db.read() as db:
        actors = await actor_repo.local_actors(db)
        roles = [
            (a, await actor_repo.strongest_role(db, a.id))
            for a in actors
            if a.name != INSTANCE_ACTOR
        ]
        queue = await delivery_admin.queue_counts(db)
        rows = await delivery_admin.list_deliveries(db, states={"failing", "dead"}, limit=50)
        blocks = await moderation_repo.domain_blocks(db)
        flags = await moderation_repo.flags(db)
    return await page(
        request,
        "admin.html",
        actors=roles,
        queue=queue,
        deliveries=rows,
        blocks=blocks,
        flags=flags,
    )


@routes.post("/admin/blocks")
async def admin_block(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    await require_admin(request)
    try:
        domain = await block_domain(
            request.app[SERVICES],
            form.get("domain", ""),
            form.get("severity", "suspend"),
            form.get("reason") or None,
        )
        await flash(request, f"Blocked {domain}.")
    except ValueError as exc:
        await flash(request, f"Could not block: {exc}")
    raise back("/admin")


@routes.post("/admin/roles")
async def admin_role(request: web.Request) -> web.Response:
    """Give a member a role in a chapter (member, organiser or admin of that chapter)."""
    form = await check_csrf(request)
    await require_admin(request)
    services = request.app[SERVICES]
    role = form.get("role", "")
    if role not in {"member", "organiser", "admin"}:
        raise HttpError(422, "role must be member, organiser or admin")
    async with services.db.write() as db:
        member = await actor_repo.local_actor_by_name(db, form.get("member", "").strip())
        chapter = await actor_repo.local_actor_by_name(db, form.get("chapter", "").strip())
        if member is None or member.kind != "member":
            raise HttpError(404, "no such member on this node")
        if chapter is None or chapter.kind not in {"chapter", "campaign"}:
            raise HttpError(404, "no such chapter on this node")
        await action_repo.set_membership(db, member.id, chapter.id, role, services.clock.now())
    await flash(request, f"{member.name} is now {role} of {chapter.name}.")
    raise back("/admin")


@routes.post("/admin/deliveries/retry")
async def admin_retry(request: web.Request) -> web.Response:
    await check_csrf(request)
    await require_admin(request)
    services = request.app[SERVICES]
    async with services.db.write() as db:
        count = await delivery_admin.requeue(db, all_dead=True, now=services.clock.now())
    services.wakeups.deliveries.set()
    await flash(request, f"Re-queued {count} deliveries.")
    raise back("/admin")


@routes.get("/actors/{name}/verify")
async def verify_page(request: web.Request) -> web.Response:
    """Run the same check as ``chapterhouse verify`` on this campaign's own rollup."""
    from node.features.impact.verify import verify_rollup

    actor = await _named_actor(request)
    services = request.app[SERVICES]
    totals = await campaign_totals(services, actor.name)
    if totals.rollup is None:
        raise HttpError(404, "this campaign has not published a rollup yet")
    verdict = await verify_rollup(
        totals.rollup,
        allow_private_network=services.settings.allow_private_network,
        transport=services.transport,
        signer=await services.fetch_signer(),
    )
    heading = "Verified: every number checks out" if verdict.ok else "Mismatch found"
    return await page(
        request,
        "message.html",
        heading=heading,
        text=f"{verdict.verified} of {verdict.sources} signed reports check out; the totals "
        f"{'match' if verdict.ok else 'do not match'} the rollup.",
        problems=verdict.problems,
        link=actor.ap_id,
        link_text="Back to the campaign",
    )
