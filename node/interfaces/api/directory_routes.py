"""``GET /api/v1/directory``: the directory search for scripts and other sites, without a
token, with CORS and ``ETag`` (node/interfaces/api/public.py). A bad parameter is a 400 that
names it (an unknown place, a radius that is not a number, a radius with no place)."""

from __future__ import annotations

from aiohttp import web

from node.features.actors.authz import Principal
from node.features.directory.query import QueryError, read_query, result_json
from node.features.directory.search import search_directory
from node.interfaces.api.public import public_get
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError

routes = web.RouteTableDef()
PATH = "/api/v1/directory"


@public_get(routes, PATH)
async def directory_search(request: web.Request, who: Principal | None) -> dict[str, object]:
    """Chapters and campaigns near a place (nearest first) and/or matching words."""
    q = request.query
    try:
        query = await read_query(
            text=q.get("q"),
            near=q.get("near"),
            radius=q.get("radius"),
            topic=q.get("topic"),
            language=q.get("language"),
            limit=q.get("limit"),
        )
    except QueryError as exc:
        raise HttpError(400, str(exc), title=f"Invalid parameter: {exc.field}") from exc
    results = await search_directory(request.app[SERVICES], query)
    return {"results": [result_json(r) for r in results]}
