"""Discovery: WebFinger, NodeInfo, host-meta, the ``/ns`` context document."""

from __future__ import annotations

import orjson
from aiohttp import web

from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from protocol.jsonld import context_document
from protocol.nodeinfo import (
    NODEINFO_PROFILE,
    build_host_meta,
    build_nodeinfo,
    build_nodeinfo_links,
)
from protocol.webfinger import JRD_JSON, build_jrd
from storage.models.states import ActorKind
from storage.repositories import actors as actor_repo
from storage.repositories import outbox as outbox_repo

routes = web.RouteTableDef()
CORS = {"Access-Control-Allow-Origin": "*"}


@routes.get("/.well-known/webfinger")
async def webfinger(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    resource = request.query.get("resource", "").strip()
    if not resource:
        raise HttpError(400, "the resource parameter is required (e.g. acct:name@host)")
    ids = services.ids
    name: str | None = None
    if resource.startswith("acct:"):
        user, sep, host = resource[5:].rpartition("@")
        if not sep or not user:
            raise HttpError(400, f"{resource!r} is not an acct: URI of the form acct:name@host")
        if host.lower() != ids.authority:
            raise HttpError(404, f"{host} is not served by this node")
        name = user.lower()
    elif resource.startswith(("http://", "https://")):
        name = ids.local_name(resource)
    else:
        raise HttpError(400, "resource must be an acct: URI or an actor URL")
    if name is None:
        raise HttpError(404, f"no actor {resource} on this node")
    async with services.db.read() as session:
        actor = await actor_repo.local_actor_by_name(session, name)
    if actor is None:
        raise HttpError(404, f"no actor {resource} on this node")
    # The OStatus subscribe template: another server's "Follow from my server" sends our member
    # to /authorize_interaction (node/interfaces/web/interaction.py) to confirm the follow here.
    jrd = build_jrd(
        f"acct:{actor.name}@{ids.authority}",
        actor.ap_id,
        actor.ap_id,
        subscribe_template=ids.url("authorize_interaction") + "?uri={uri}",
    )
    return web.Response(body=orjson.dumps(jrd), content_type=JRD_JSON, headers=CORS)


@routes.get("/.well-known/host-meta")
async def host_meta(request: web.Request) -> web.Response:
    base = request.app[SERVICES].settings.base_url
    return web.Response(
        text=build_host_meta(base), content_type="application/xrd+xml", headers=CORS
    )


@routes.get("/.well-known/nodeinfo")
async def nodeinfo_links(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    return web.json_response(build_nodeinfo_links(services.ids.url("nodeinfo/2.1")), headers=CORS)


@routes.get("/nodeinfo/2.1")
async def nodeinfo(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    async with services.db.read() as session:
        members = await actor_repo.count_local_actors(session, ActorKind.MEMBER)
        chapters = await actor_repo.count_local_actors(session, ActorKind.CHAPTER)
        campaigns = await actor_repo.count_local_actors(session, ActorKind.CAMPAIGN)
        posts = await outbox_repo.count_public(session)
    doc = build_nodeinfo(
        version=services.version,
        users_total=members,
        active_month=members,
        active_halfyear=members,
        local_posts=posts,
        open_registrations=False,
        metadata={
            "nodeName": services.settings.node_name,
            "chapters": chapters,
            "campaigns": campaigns,
            "instanceActor": services.ids.actor("relay"),
            # Our chapters and campaigns, for other nodes' directories (FEDERATION.md).
            "directory": services.ids.url("directory"),
        },
    )
    return web.Response(body=orjson.dumps(doc), headers={**CORS, "Content-Type": NODEINFO_PROFILE})


@routes.get("/ns")
async def namespace(request: web.Request) -> web.Response:
    return web.Response(
        body=orjson.dumps(context_document()), content_type="application/ld+json", headers=CORS
    )
