"""``/directory``: the node's chapters and campaigns as an ActivityStreams
``OrderedCollection`` (node/features/directory/collection.py), for other nodes' directories.

Content negotiation as ``/actors/{name}``: a browser (``text/html``, no ActivityPub type) gets
the page (node/interfaces/web/directory_page.py); everything else gets the collection, which
``/directory.json`` also serves whatever the ``Accept``. Both are public, with CORS, an
``ETag`` and ``304`` for ``If-None-Match``; the directory is never behind authorized fetch (it
is the node's public listing, as NodeInfo is).
"""

from __future__ import annotations

from urllib.parse import urlencode

import orjson
from aiohttp import web

from node.features.directory.collection import directory_document
from node.interfaces.activitypub.negotiation import wants_html
from node.interfaces.api.public import CORS, conditional
from node.interfaces.web.directory_page import directory_page
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from protocol.chapter_profile import normalise_topic
from protocol.errors import MalformedDocument
from protocol.jsonld import ACTIVITY_JSON

routes = web.RouteTableDef()


async def directory_json(request: web.Request) -> web.Response:
    doc = await directory_document(request.app[SERVICES])
    return conditional(
        request,
        orjson.dumps(doc),
        ACTIVITY_JSON,
        headers={**CORS, "Vary": "Accept"},
        cache="public, max-age=300",
    )


@routes.get("/directory")
async def directory(request: web.Request) -> web.Response:
    if wants_html(request):
        return await directory_page(request)
    return await directory_json(request)


@routes.get("/directory.json")
async def directory_as_json(request: web.Request) -> web.Response:
    return await directory_json(request)


@routes.get("/tags/{topic}")
async def hashtag(request: web.Request) -> web.Response:
    """Where our chapters' ``Hashtag`` objects point: the directory, filtered by the topic."""
    try:
        topic = normalise_topic(request.match_info["topic"])
    except MalformedDocument as exc:
        raise HttpError(400, f"not a topic: {exc}") from exc
    raise web.HTTPFound("/directory?" + urlencode({"topic": topic}))
