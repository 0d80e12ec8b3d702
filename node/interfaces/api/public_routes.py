"""The public reads that have no page-shaped twin in routes.py: the node's chapters and
campaigns, one of them, and a campaign's history. Anyone may call them (see public.py)."""

from __future__ import annotations

from aiohttp import web

from node.features.actors.authz import Principal
from node.features.actors.public_view import public_chapter, public_chapters
from node.features.impact.campaigns import campaign_totals
from node.interfaces.api.public import public_get
from node.runtime.appkeys import SERVICES

routes = web.RouteTableDef()


@public_get(routes, "/api/v1/chapters")
async def list_chapters(request: web.Request, who: Principal | None) -> dict[str, object]:
    """The node's chapters and campaigns, oldest first (the front page's list)."""
    return {"items": await public_chapters(request.app[SERVICES])}


@public_get(routes, "/api/v1/chapters/{chapter}")
async def get_chapter(request: web.Request, who: Principal | None) -> dict[str, object]:
    return await public_chapter(request.app[SERVICES], request.match_info["chapter"])


@public_get(routes, "/api/v1/campaigns/{campaign}/history")
async def history(request: web.Request, who: Principal | None) -> dict[str, object]:
    """The totals as each signed rollup published them, oldest first (the page's charts)."""
    result = await campaign_totals(request.app[SERVICES], request.match_info["campaign"])
    return {"campaign": result.campaign, "history": result.history}
