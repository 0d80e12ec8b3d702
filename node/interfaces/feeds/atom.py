"""Atom feed of a chapter's action calls (next to the iCalendar feed)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from aiohttp import web

from node.features.calls.lifecycle import call_from_row
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from protocol.events import summary_line
from protocol.timefmt import format_xsd_datetime
from storage.models.states import GROUP_KINDS
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo

routes = web.RouteTableDef()


@routes.get("/actors/{name}/feed.atom")
async def feed(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    async with services.db.read() as db:
        chapter = await actor_repo.local_actor_by_name(db, request.match_info["name"])
        if chapter is None or chapter.kind not in GROUP_KINDS:
            raise HttpError(404, "no such chapter on this node")
        rows = await action_repo.recent_calls(db, chapter.ap_id, limit=200)
    calls = sorted(
        (call_from_row(r, services) for r in rows),
        key=lambda c: c.updated or c.published,
        reverse=True,
    )
    updated = format_xsd_datetime(
        max((c.updated or c.published for c in calls), default=chapter.created_at)
    )
    entries = "".join(
        f"<entry><id>{escape(c.id)}</id><title>{escape(c.title)}</title>"
        f'<link rel="alternate" type="text/html" href="{escape(c.id)}"/>'
        f"<published>{format_xsd_datetime(c.published)}</published>"
        f"<updated>{format_xsd_datetime(c.updated or c.published)}</updated>"
        f"<summary>{escape(summary_line(c))}</summary>"
        f'<content type="html">{escape(c.content)}</content></entry>'
        for c in calls
    )
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{escape(chapter.ap_id)}/feed.atom</id><title>{escape(chapter.title or chapter.name)}</title>"
        f"<updated>{updated}</updated><author><name>{escape(chapter.title or chapter.name)}</name>"
        f"<uri>{escape(chapter.ap_id)}</uri></author>"
        f'<link rel="self" href="{escape(chapter.ap_id)}/feed.atom"/>'
        f'<link rel="alternate" type="text/html" href="{escape(chapter.ap_id)}"/>{entries}</feed>'
    )
    return web.Response(text=body, content_type="application/atom+xml")
