"""Where a chapter's feeds are served: ``calendar.ics`` and ``feed.atom`` (advertised in every
chapter page's ``<head>``)."""

from __future__ import annotations

from aiohttp import web

from node.features.calls.lookup import chapter_calls
from node.interfaces.feeds.atom import atom_feed
from node.runtime.appkeys import SERVICES
from protocol.ical import calendar_ics

routes = web.RouteTableDef()


@routes.get("/actors/{name}/calendar.ics")
async def calendar(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    chapter, calls = await chapter_calls(services, request.match_info["name"])
    body = calendar_ics(chapter.title or chapter.name, calls, now=services.clock.now())
    return web.Response(
        body=body,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'inline; filename="{chapter.name}.ics"'},
    )


@routes.get("/actors/{name}/feed.atom")
async def atom(request: web.Request) -> web.Response:
    chapter, calls = await chapter_calls(
        request.app[SERVICES], request.match_info["name"], newest_first=True
    )
    return web.Response(text=atom_feed(chapter, calls), content_type="application/atom+xml")
