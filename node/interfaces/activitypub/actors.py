"""Actor documents and their collections (outbox, followers, following), plus inboxes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from node.features.actors.local import actor_document
from node.features.inbound import INBOUND_CHECKS
from node.federation.inbox.acceptance import accept_incoming
from node.interfaces.activitypub.negotiation import (
    activity_json,
    page_number,
    require_signed_fetch,
    wants_html,
)
from node.interfaces.web.public import actor_page
from node.runtime.appkeys import INBOX_WRITER, METRICS, SERVICES
from node.runtime.errors import HttpError
from node.runtime.services import INSTANCE_ACTOR
from protocol.jsonld import AS_CONTEXT
from storage.models import LocalActor
from storage.repositories import actions as action_repo
from storage.repositories import actors as actor_repo
from storage.repositories import follows as follow_repo
from storage.repositories import outbox as outbox_repo
from storage.repositories.follows import Relation

routes = web.RouteTableDef()
PAGE_SIZE = 50


async def _actor(request: web.Request) -> LocalActor:
    services = request.app[SERVICES]
    name = request.match_info["name"]
    async with services.db.read() as session:
        actor = await actor_repo.local_actor_by_name(session, name)
    if actor is None:
        raise HttpError(404, f"no actor named {name!r} on this node")
    return actor


@routes.get("/actors/{name}")
async def actor(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    local = await _actor(request)
    if local.name != INSTANCE_ACTOR:
        await require_signed_fetch(request)
    if wants_html(request):
        return await actor_page(request, local)
    return activity_json(actor_document(services.ids, local))


def _collection(collection_id: str, total: int) -> dict[str, object]:
    return {
        "@context": AS_CONTEXT,
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": total,
        "first": f"{collection_id}?page=1",
    }


def _page(collection_id: str, page: int, items: Sequence[object], total: int) -> dict[str, object]:
    doc: dict[str, object] = {
        "@context": AS_CONTEXT,
        "id": f"{collection_id}?page={page}",
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "totalItems": total,
        "orderedItems": items,
    }
    if page * PAGE_SIZE < total:
        doc["next"] = f"{collection_id}?page={page + 1}"
    if page > 1:
        doc["prev"] = f"{collection_id}?page={page - 1}"
    return doc


@routes.get("/actors/{name}/{relation:followers|following}")
async def follow_collection(request: web.Request) -> web.Response:
    """Who follows a local actor, or whom it follows: a paged ``OrderedCollection``."""
    services = request.app[SERVICES]
    local = await _actor(request)
    await require_signed_fetch(request)
    relation: Relation = (
        "followers" if request.match_info["relation"] == "followers" else "following"
    )
    collection_id = services.ids.actor_part(local.name, relation)
    page = page_number(request)
    async with services.db.read() as session:
        total = await follow_repo.count_related(session, local.ap_id, relation)
        if page is None:
            return activity_json(_collection(collection_id, total))
        items = await follow_repo.related_ids_page(
            session, local.ap_id, relation, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
    return activity_json(_page(collection_id, page, items, total))


@routes.get("/actors/{name}/outbox")
async def outbox(request: web.Request) -> web.Response:
    """The public activities of a local actor, newest first.

    ``?page=N`` pages by position; each page links its ``next`` page by keyset
    (``?before=`` the id of its last activity), so a peer reading the whole outbox pays
    the same for the last page as for the first.
    """
    services = request.app[SERVICES]
    local = await _actor(request)
    await require_signed_fetch(request)
    collection_id = services.ids.actor_part(local.name, "outbox")
    before = request.query.get("before")
    page = page_number(request) if before is None else None
    async with services.db.read() as session:
        total = await outbox_repo.count_public(session, local.id)
        if before is None and page is None:
            return activity_json(_collection(collection_id, total))
        if before is not None:
            found = await outbox_repo.public_page_before(
                session, local.id, before, limit=PAGE_SIZE + 1
            )
            if found is None:
                raise HttpError(
                    400, "before must be the id of one of this actor's public activities"
                )
            rows = found
            page_id = f"{collection_id}?before={quote(before, safe='')}"
        else:
            assert page is not None
            rows = await outbox_repo.public_page(
                session, local.id, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1
            )
            page_id = f"{collection_id}?page={page}"
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        items: list[object] = list(await _current(session, [r.body for r in rows]))
    doc: dict[str, object] = {
        "@context": AS_CONTEXT,
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "totalItems": total,
        "orderedItems": items,
    }
    if more:
        doc["next"] = f"{collection_id}?before={quote(rows[-1].ap_id, safe='')}"
    if page is not None and page > 1:
        doc["prev"] = f"{collection_id}?page={page - 1}"
    return activity_json(doc)


def _event_id(body: dict[str, Any]) -> str | None:
    obj = body.get("object")
    if isinstance(obj, dict) and obj.get("type") == "Event" and isinstance(obj.get("id"), str):
        return str(obj["id"])
    return None


async def _current(session: AsyncSession, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Outbox items show the current version of action calls, so late followers see edits."""
    calls = [ident for ident in map(_event_id, bodies) if ident is not None]
    documents = await action_repo.documents_by_ap_id(session, calls)
    items = []
    for body in bodies:
        item = {k: v for k, v in body.items() if k != "@context"}
        ident = _event_id(body)
        if ident is not None and ident in documents:
            item["object"] = documents[ident]  # whole, with the @context its proof covers
        items.append(item)
    return items


@routes.get("/activities/{ulid}")
async def activity(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    await require_signed_fetch(request)
    ap_id = services.ids.activity(request.match_info["ulid"])
    async with services.db.read() as session:
        row = await outbox_repo.by_ap_id(session, ap_id)
    if row is None or not row.public:
        raise HttpError(404, "no such public activity")
    return activity_json(row.body)


@routes.post("/actors/{name}/inbox")
@routes.post("/inbox")
async def inbox(request: web.Request) -> web.Response:
    """An actor's inbox or the shared one: both take the same activities the same way."""
    app = request.app
    services = app[SERVICES]
    name = request.match_info.get("name")
    if name is not None and name not in services.local_names:
        # Local actors are never deleted: a name once found needs no database read again.
        services.local_names.add((await _actor(request)).name)
    metrics = app[METRICS]
    try:
        activity = await accept_incoming(services, app[INBOX_WRITER], request, INBOUND_CHECKS)
    except (HttpError, web.HTTPException) as exc:
        metrics.inbox_refused(exc.status)
        raise
    metrics.inbox_accepted(activity.type)
    return web.Response(status=202)
