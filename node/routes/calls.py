"""Action call documents (JSON for ActivityPub clients, HTML for browsers) and the
chapter's iCalendar feed."""

from __future__ import annotations

import html

from aiohttp import web

from node.actions import call_from_row
from node.appkeys import SERVICES
from node.calendar import calendar_ics
from node.errors import HttpError
from protocol.events import ActionCall, summary_line
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo
from storage.repositories import impact as impact_repo

from .negotiation import activity_json, require_signed_fetch, wants_html

routes = web.RouteTableDef()


def _call_html(call: ActionCall) -> str:
    where = ""
    if call.place is not None:
        where = html.escape(call.place.name)
        if call.place.latitude is not None and call.place.longitude is not None:
            osm = (
                f"https://www.openstreetmap.org/?mlat={call.place.latitude}"
                f"&mlon={call.place.longitude}#map=17/{call.place.latitude}/{call.place.longitude}"
            )
            where += f' (<a href="{html.escape(osm)}">map</a>)'
    elif call.online_url:
        where = f'<a href="{html.escape(call.online_url)}">online</a>'
    capacity = f" of {call.capacity}" if call.capacity is not None else ""
    status = "<p><strong>This action call is cancelled.</strong></p>" if call.cancelled else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(call.title)}</title>
<link rel="alternate" type="application/activity+json" href="{html.escape(call.id)}">
</head><body><main>
<h1>{html.escape(call.title)}</h1>{status}
<p>{html.escape(summary_line(call))}</p>
<p>Where: {where or "to be announced"}</p>
<p>{call.participant_count}{capacity} people are coming.</p>
<div>{call.content}</div>
</main></body></html>"""


@routes.get("/actors/{name}/actions/{ulid}")
async def call_document(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    await require_signed_fetch(request)
    call_id = services.ids.actor_part(
        request.match_info["name"], f"actions/{request.match_info['ulid']}"
    )
    async with services.db.read() as session:
        row = await action_repo.call_by_ap_id(session, call_id)
    if row is None or row.local_actor_id is None:
        raise HttpError(404, "no such action call on this node")
    if wants_html(request):
        return web.Response(
            text=_call_html(call_from_row(row, services)),
            content_type="text/html",
            headers={"Vary": "Accept"},
        )
    return activity_json(row.document)


@routes.get("/actors/{name}/calendar.ics")
async def calendar(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    async with services.db.read() as session:
        chapter = await actor_repo.local_actor_by_name(session, request.match_info["name"])
        if chapter is None or chapter.kind not in {"chapter", "campaign"}:
            raise HttpError(404, "no such chapter on this node")
        rows = await action_repo.calls_of_chapter(session, chapter.ap_id)
    body = calendar_ics(
        chapter.title or chapter.name,
        (call_from_row(r, services) for r in rows),
        now=services.clock.now(),
    )
    return web.Response(
        body=body,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'inline; filename="{chapter.name}.ics"'},
    )


@routes.get("/actors/{name}/reports/{ulid}")
async def report_document(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    await require_signed_fetch(request)
    report_id = services.ids.actor_part(
        request.match_info["name"], f"reports/{request.match_info['ulid']}"
    )
    async with services.db.read() as session:
        row = await impact_repo.report(session, report_id)
    if row is None or row.local_actor_id is None:
        raise HttpError(404, "no such report on this node")
    if row.retracted:
        raise HttpError(410, "this report was retracted")
    if wants_html(request):
        content = html.escape(str(row.document.get("content", "")))
        page = f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Impact report</title></head><body><main><h1>Impact report</h1><p>{content}</p></main></body></html>'
        return web.Response(text=page, content_type="text/html", headers={"Vary": "Accept"})
    return activity_json(row.document)


@routes.get("/actors/{name}/rollup")
async def rollup_document(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    await require_signed_fetch(request)
    async with services.db.read() as session:
        campaign = await actor_repo.local_actor_by_name(session, request.match_info["name"])
        state = await impact_repo.state(session, campaign.id) if campaign is not None else None
    if state is None or state.rollup_document is None:
        raise HttpError(404, "this campaign has not published a rollup yet")
    return activity_json(state.rollup_document)
