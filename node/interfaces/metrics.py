"""``/metrics``: the node's Prometheus metrics in the text exposition format 0.0.4.

The media type is spelled out rather than taken from prometheus_client: its
``CONTENT_TYPE_LATEST`` says version 1.0.0 in recent releases (which older scrapers do not
know) and its 0.0.4 constant is missing from the oldest release we allow; ``generate_latest``
writes 0.0.4 in all of them.
"""

from __future__ import annotations

import logging

from aiohttp import hdrs, web
from prometheus_client import generate_latest

from node.runtime.appkeys import METRICS, SERVICES

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

routes = web.RouteTableDef()


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    collected = request.app[METRICS]
    try:
        await collected.refresh(request.app[SERVICES].db)
    except Exception:  # still serve the in-process metrics; the gauges are left out
        log.warning("metrics.refresh_failed", exc_info=True)
    return web.Response(
        body=generate_latest(collected.registry),
        headers={hdrs.CONTENT_TYPE: CONTENT_TYPE},
    )
