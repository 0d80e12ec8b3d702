"""Action call, report and rollup documents (JSON for ActivityPub clients, HTML for browsers)."""

from __future__ import annotations

import html

from aiohttp import web

from node.features.calls.polls import call_for_poll, question_document
from node.features.impact.rollups import rollup_id, sources_link
from node.interfaces.activitypub.negotiation import activity_json, require_signed_fetch, wants_html
from node.interfaces.web.public import call_page
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from protocol.polls import poll_id
from protocol.rollup_sources import (
    MAX_SOURCES,
    Source,
    build_collection,
    build_page,
    page_count,
)
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo
from storage.repositories import impact as impact_repo

routes = web.RouteTableDef()


@routes.get("/actors/{name}/actions/{ulid:[0-9A-Z]{26}}")
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
        return await call_page(request, row)
    return activity_json(row.document)


@routes.get("/actors/{name}/actions/{ulid:[0-9A-Z]{26}}/polls/{poll:[0-9A-Z]{26}}")
async def poll_document(request: web.Request) -> web.Response:
    """A call's RSVP poll with its current counts (Mastodon refetches it); browsers go to
    the call's page."""
    services = request.app[SERVICES]
    await require_signed_fetch(request)
    call_id = services.ids.actor_part(
        request.match_info["name"], f"actions/{request.match_info['ulid']}"
    )
    async with services.db.read() as session:
        row = await call_for_poll(session, poll_id(call_id, request.match_info["poll"]))
        question = await question_document(session, services, row) if row else None
    if row is None or question is None:
        raise HttpError(404, "no such poll on this node")
    if wants_html(request):
        raise web.HTTPSeeOther(call_id)
    return activity_json(question)


@routes.get("/actors/{name}/reports/{ulid:[0-9A-Z]{26}}")
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


@routes.get("/actors/{name}/rollup/sources")
async def rollup_sources(request: web.Request) -> web.Response:
    """The published rollup's sources: the collection (count, digest, first page) or
    ``?page=N`` (from 1). Always those of the rollup as last published, which pins them."""
    services = request.app[SERVICES]
    await require_signed_fetch(request)
    raw_page = request.query.get("page")
    page = None
    if raw_page is not None:
        if not raw_page.isdigit() or not 1 <= int(raw_page) <= MAX_SOURCES:
            raise HttpError(400, "page must be a whole number from 1")
        page = int(raw_page)
    async with services.db.read() as session:
        campaign = await actor_repo.local_actor_by_name(session, request.match_info["name"])
        state = await impact_repo.state(session, campaign.id) if campaign is not None else None
    if campaign is None or state is None or state.rollup_sources is None:
        raise HttpError(404, "this campaign has not published a rollup yet")
    sources = [Source(*triple) for triple in state.rollup_sources]
    link = sources_link(rollup_id(services, campaign), sources)
    if page is None:
        return activity_json(build_collection(link))
    size = services.settings.rollup_inline_sources
    if page > page_count(len(sources), size):
        raise HttpError(404, f"the sources have {page_count(len(sources), size)} page(s)")
    start = (page - 1) * size
    return activity_json(build_page(link, page, sources[start : start + size], page_size=size))
