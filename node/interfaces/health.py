"""``/healthz``: is the database reachable, and how is the delivery queue doing."""

from __future__ import annotations

from aiohttp import web

from node.runtime.appkeys import SERVICES
from storage.repositories import deliveries as delivery_repo

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        async with services.db.read() as session:
            queue = await delivery_repo.counts_by_state(session)
    except Exception as exc:  # report, don't crash: this endpoint exists to say what is wrong
        return web.json_response({"status": "error", "database": str(exc)}, status=503)
    return web.json_response({"status": "ok", "version": services.version, "deliveries": queue})
