"""Organisers' pages: publish, edit and cancel action calls, report impact, manage a chapter.

Managing covers the roster of each call, approving followers (for chapters that approve them by
hand) and making invitation links; from a campaign's page, approving member chapters and leaving
reports or chapters out of the totals (and counting them again). The features check the
organiser's role again on every change; the checks here decide only which form to show.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import cast

from aiohttp import web
from aiohttp_session import get_session

from node.features.actors.authz import NotFoundError, Principal
from node.features.actors.directory import is_organiser
from node.features.actors.invitations import InvitationRefused, create_invitation
from node.features.actors.names import names_of
from node.features.calls.attendance import tally_of
from node.features.calls.input import FieldError
from node.features.calls.lifecycle import (
    call_from_row,
    call_language,
    create_action,
    update_action,
)
from node.features.calls.lookup import calls_with_participants
from node.features.calls.polls import publish_poll
from node.features.following.approval import approve_follower, pending_requests
from node.features.impact.chapter_impact import live_report
from node.features.impact.exclusions import (
    ExclusionRefused,
    exclude,
    include,
    known_names,
    list_exclusions,
)
from node.features.impact.reports import (
    MeasurePatch,
    ReportExists,
    create_report,
    metric_lines,
    parse_metric_args,
    update_report,
)
from node.interfaces.web.call_form import (
    call_data,
    form_values,
    language_choices,
    new_values,
    zone_choices,
)
from node.interfaces.web.common import back, flash, local_call, named_actor, page, require_member
from node.interfaces.web.language import translator
from node.interfaces.web.session import check_csrf
from node.interfaces.web.words import field_error, said
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from protocol.errors import MalformedDocument
from protocol.ids import parse_id
from protocol.impact import parse_report
from storage.models import LocalActor, Participant
from storage.models.states import ActorKind, Role

routes = web.RouteTableDef()


# GET /actors/{name}/actions/new must reach this form: the call document route
# (node/interfaces/activitypub/calls.py) takes only 26-character ULIDs, so "new" never matches it.
@routes.get("/actors/{name}/actions/new")
async def new_call_form(request: web.Request) -> web.Response:
    who = await require_member(request)
    actor = await named_actor(request)
    t = await translator(request)
    if not await is_organiser(request.app[SERVICES], who, actor):
        raise HttpError(403, t.gettext("only organisers can create action calls"))
    return await page(
        request,
        "call_form.html",
        heading=t.gettext("New action call for %(name)s", name=actor.title or actor.name),
        action=f"{actor.ap_id}/actions/new",
        button=t.gettext("Publish"),
        values=new_values(actor.timezone, call_language(request.app[SERVICES], actor)),
        zones=zone_choices(),
        languages=language_choices(actor.languages),
        offer_poll=True,
    )


@routes.post("/actors/{name}/actions/new")
async def new_call(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    who = await require_member(request)
    actor = await named_actor(request)
    poll = form.get("poll", "no")
    t = await translator(request)
    try:
        if poll not in ("yes", "no"):
            raise FieldError("poll", t.gettext("choose whether to publish a poll"))
        row = await create_action(request.app[SERVICES], who, actor.name, call_data(form))
    except FieldError as exc:
        refused = await page(
            request,
            "call_form.html",
            heading=t.gettext("New action call"),
            action=f"{actor.ap_id}/actions/new",
            button=t.gettext("Publish"),
            values=form,
            zones=zone_choices(),
            languages=language_choices(actor.languages, _sent_languages(form)),
            offer_poll=True,
            error=field_error(t, exc),
        )
        refused.set_status(400)  # the form again, with what was typed and what is wrong
        return refused
    if poll == "yes":  # the call is published; its poll follows it to the same followers
        row = await publish_poll(request.app[SERVICES], who, row.ap_id)
        await flash(request, t.gettext("Published to every follower, with its RSVP poll."))
        raise back(row.ap_id)
    await flash(request, t.gettext("Published to every follower."))
    raise back(row.ap_id)


@routes.get("/actors/{name}/actions/{ulid}/edit")
async def edit_call_form(request: web.Request) -> web.Response:
    who = await require_member(request)
    row, chapter = await local_call(request)
    t = await translator(request)
    if not await is_organiser(request.app[SERVICES], who, chapter):
        raise HttpError(403, t.gettext("only organisers can edit action calls"))
    call = call_from_row(row, request.app[SERVICES])
    return await page(
        request,
        "call_form.html",
        heading=t.gettext("Edit %(title)s", title=call.title),
        action=f"{row.ap_id}/edit",
        button=t.gettext("Save and notify followers"),
        values=form_values(call, chapter.timezone),
        zones=zone_choices(),
        languages=language_choices(
            chapter.languages, [call.language or "", *call.title_map, *call.content_map]
        ),
    )


@routes.post("/actors/{name}/actions/{ulid}/edit")
async def edit_call(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    who = await require_member(request)
    row, chapter = await local_call(request)
    shown = form_values(call_from_row(row, request.app[SERVICES]), chapter.timezone)
    t = await translator(request)
    try:
        await update_action(request.app[SERVICES], who, row.ap_id, call_data(form, shown))
    except FieldError as exc:
        refused = await page(
            request,
            "call_form.html",
            heading=t.gettext("Edit"),
            action=f"{row.ap_id}/edit",
            button=t.gettext("Save and notify followers"),
            values=form,
            zones=zone_choices(),
            languages=language_choices(chapter.languages, _sent_languages(form)),
            error=field_error(t, exc),
        )
        refused.set_status(400)
        return refused
    await flash(request, t.gettext("Saved; followers get the update."))
    raise back(row.ap_id)


def _sent_languages(form: Mapping[str, str]) -> list[str]:
    """The language tags a refused form sent, offered again so the form shows what was typed."""
    return [v for k, v in form.items() if k == "language" or k.startswith("tr_language_")]


# Cancelling and restoring a call, and settling an adopted call's conflicts with its
# campaign: node/interfaces/web/call_changes.py.


@routes.get("/actors/{name}/actions/{ulid}/report")
async def report_form(request: web.Request) -> web.Response:
    who = await require_member(request)
    row, chapter = await local_call(request)
    services = request.app[SERVICES]
    t = await translator(request)
    if not await is_organiser(services, who, chapter):
        raise HttpError(403, t.gettext("only organisers can report impact"))
    existing = await live_report(services, row.ap_id)
    values: dict[str, str] = {}
    if existing is not None:
        # A correction starts from the numbers as they stand; saving replaces them all.
        current = parse_report(existing.document, allow_http=services.settings.allow_http)
        methods = Counter(m.method for m in current.measures)
        values = {
            "metrics": metric_lines(current.measures),
            "method": methods.most_common(1)[0][0],
            "text": current.content,
        }
    prefilled = None
    if existing is None:
        # A first report starts from who came (check-in), counted; the form says so.
        came = (await tally_of(services, who, row.ap_id)).came
        if came:
            values = {"metrics": f"participants={came}:people", "method": "counted"}
            prefilled = t.ngettext(
                "%(num)s person checked in: pre-filled, counted.",
                "%(num)s people checked in: pre-filled, counted.",
                came,
            )
    return await page(
        request,
        "report_form.html",
        call=call_from_row(row, services),
        report=existing.document if existing else None,
        values=values,
        prefilled=prefilled,
    )


@routes.post("/actors/{name}/actions/{ulid}/report")
async def report_post(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    who = await require_member(request)
    row, _ = await local_call(request)
    services = request.app[SERVICES]
    t = await translator(request)
    existing = await live_report(services, row.ap_id)
    try:
        measures = parse_metric_args(
            [m for m in form.get("metrics", "").splitlines() if m.strip()],
            form.get("method", "counted"),
        )
        text = form.get("text", "").strip() or None
        if existing is None:
            await create_report(services, who, row.ap_id, measures, text)
        else:
            # The box holds every metric, so what it holds is the whole new list.
            patch = MeasurePatch(set=measures, replace=True)
            await update_report(services, who, existing.ap_id, patch, text)
    except (FieldError, ReportExists) as exc:
        return await page(
            request,
            "report_form.html",
            call=call_from_row(row, services),
            report=existing.document if existing else None,
            values=form,
            error=field_error(t, exc) if isinstance(exc, FieldError) else said(t, exc),
        )
    await flash(request, t.gettext("Report published and sent to the campaign."))
    raise back(row.ap_id)


@routes.get("/actors/{name}/manage")
async def manage(request: web.Request) -> web.Response:
    who = await require_member(request)
    actor = await named_actor(request)
    services = request.app[SERVICES]
    if not await is_organiser(services, who, actor):
        t = await translator(request)
        raise HttpError(403, t.gettext("only organisers can manage a chapter"))
    pending = await pending_requests(services, actor)
    calls = await calls_with_participants(services, actor)
    session = await get_session(request)
    invite_url = session.pop("invite_url", None)
    roster = [p.actor for c in calls for p in cast(list[Participant], c["participants"])]
    people = await names_of(services, [*(f.follower for f in pending), *roster])
    return await page(
        request,
        "manage.html",
        actor=actor,
        pending=pending,
        calls=calls,
        invite_url=invite_url,
        people=people,
    )


@routes.post("/actors/{name}/approve")
async def approve(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    who = await require_member(request)
    actor = await named_actor(request)
    try:
        await approve_follower(request.app[SERVICES], who, actor, form.get("follower", ""))
    except NotFoundError as exc:
        raise HttpError(404, str(exc)) from exc
    follower = form.get("follower", "")
    shown = (await names_of(request.app[SERVICES], [follower])).get(follower)
    t = await translator(request)
    await flash(request, t.gettext("Approved %(name)s.", name=shown.name if shown else follower))
    raise back(f"{actor.ap_id}/manage")


@routes.post("/actors/{name}/invites")
async def invite(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    who = await require_member(request)
    actor = await named_actor(request)
    services = request.app[SERVICES]
    try:
        token = await create_invitation(services, who, actor, form.get("role", Role.MEMBER))
    except InvitationRefused as exc:
        raise HttpError(422, str(exc)) from exc
    (await get_session(request))["invite_url"] = services.ids.url(f"invite/{token}")
    raise back(f"{actor.ap_id}/manage")


async def _organised_campaign(request: web.Request) -> tuple[Principal, LocalActor]:
    """The signed-in member and the campaign named in the URL, which they must organise."""
    who = await require_member(request)
    actor = await named_actor(request)
    t = await translator(request)
    if actor.kind != ActorKind.CAMPAIGN:
        raise HttpError(404, t.gettext("%(name)s is a chapter, not a campaign", name=actor.name))
    if not await is_organiser(request.app[SERVICES], who, actor):
        raise HttpError(
            403,
            t.gettext("only organisers of %(name)s manage its members and totals", name=actor.name),
        )
    return who, actor


@routes.post("/actors/{name}/members/approve")
async def approve_member(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    who, campaign = await _organised_campaign(request)
    services = request.app[SERVICES]
    chapter = form.get("chapter", "").strip()
    t = await translator(request)
    try:
        await approve_follower(services, who, campaign, chapter)
    except NotFoundError as exc:
        raise HttpError(
            404,
            t.gettext("%(chapter)s has no pending request", chapter=chapter)
            if chapter
            else t.gettext("that chapter has no pending request"),
        ) from exc
    name = (await known_names(services, [chapter])).get(chapter, chapter)
    await flash(
        request, t.gettext("Approved: %(name)s is now a member of the campaign.", name=name)
    )
    raise back(campaign.ap_id)


@routes.post("/actors/{name}/exclusions")
async def exclude_post(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    who, campaign = await _organised_campaign(request)
    services = request.app[SERVICES]
    t = await translator(request)
    try:
        target = str(
            parse_id(form.get("target", "").strip(), allow_http=services.settings.allow_http)
        )
    except MalformedDocument as exc:
        raise HttpError(
            422,
            t.gettext("give the address (IRI) of the report or chapter to leave out, https://..."),
        ) from exc
    already = {e.target: e for e in await list_exclusions(services, campaign.name)}
    if target in already:
        shown = already[target]
        await flash(
            request,
            t.gettext(
                "Already left out: %(name)s, because: %(reason)s",
                name=shown.name or target,
                reason=shown.reason,
            ),
        )
        raise back(campaign.ap_id)
    try:
        moved = await exclude(services, who, campaign.name, target, form.get("reason", ""))
    except ExclusionRefused as exc:
        raise HttpError(422, str(exc)) from exc
    listed = {e.target: e.name for e in await list_exclusions(services, campaign.name)}
    await flash(
        request,
        t.ngettext(
            "Left %(name)s out of the totals (%(num)s report taken out); "
            "the next rollup lists it with its reason.",
            "Left %(name)s out of the totals (%(num)s reports taken out); "
            "the next rollup lists it with its reason.",
            moved,
            name=listed.get(target) or target,
        ),
    )
    raise back(campaign.ap_id)


@routes.post("/actors/{name}/exclusions/include")
async def include_post(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    who, campaign = await _organised_campaign(request)
    services = request.app[SERVICES]
    target = form.get("target", "").strip()
    t = await translator(request)
    if not target:
        raise HttpError(422, t.gettext("name the excluded report or chapter to count again"))
    listed = {e.target: e.name for e in await list_exclusions(services, campaign.name)}
    try:
        moved = await include(services, who, campaign.name, target)
    except ExclusionRefused as exc:
        raise HttpError(404, str(exc)) from exc
    await flash(
        request,
        t.ngettext(
            "Counting %(name)s again (%(num)s report back in the totals).",
            "Counting %(name)s again (%(num)s reports back in the totals).",
            moved,
            name=listed.get(target) or target,
        ),
    )
    raise back(campaign.ap_id)
