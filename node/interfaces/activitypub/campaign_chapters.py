"""``/actors/{campaign}/chapters``: a campaign's member chapters, as an ``OrderedCollection``.

Other nodes' directories learn chapters from it (a campaign's members are public: its signed
rollup names them already), and the campaign's actor document links it as
``chapterhouse:chapters``. Paged like the follower collections; items are the chapters' ids,
in the order they joined. A chapter, member or instance actor has no such collection (404).
"""

from __future__ import annotations

from aiohttp import web

from node.features.impact.member_chapters import member_ids
from node.interfaces.activitypub.negotiation import (
    activity_json,
    page_number,
    require_signed_fetch,
)
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from protocol.jsonld import AS_CONTEXT
from storage.models.states import ActorKind
from storage.repositories import actors as actor_repo

routes = web.RouteTableDef()
PAGE_SIZE = 50


@routes.get("/actors/{name}/chapters")
async def campaign_chapters(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    name = request.match_info["name"]
    async with services.db.read() as session:
        campaign = await actor_repo.local_actor_by_name(session, name)
    if campaign is None or campaign.kind != ActorKind.CAMPAIGN:
        raise HttpError(404, f"no campaign named {name!r} on this node")
    await require_signed_fetch(request)
    collection_id = services.ids.actor_part(campaign.name, "chapters")
    page = page_number(request)
    chapters = await member_ids(services, campaign)
    total = len(chapters)
    if page is None:
        return activity_json(
            {
                "@context": AS_CONTEXT,
                "id": collection_id,
                "type": "OrderedCollection",
                "attributedTo": campaign.ap_id,
                "totalItems": total,
                "first": f"{collection_id}?page=1",
            }
        )
    doc: dict[str, object] = {
        "@context": AS_CONTEXT,
        "id": f"{collection_id}?page={page}",
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "totalItems": total,
        "orderedItems": chapters[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
    }
    if page * PAGE_SIZE < total:
        doc["next"] = f"{collection_id}?page={page + 1}"
    if page > 1:
        doc["prev"] = f"{collection_id}?page={page - 1}"
    return activity_json(doc)
