"""Campaign endpoints: create a campaign, its members (and approving them), what its totals
leave out, and a chapter adopting a campaign's call. Same rules as the CLI's ``campaign``."""

from __future__ import annotations

from aiohttp import web

from node.features.actors.authz import Forbidden, NotFoundError, Principal
from node.features.actors.local import create_actor
from node.features.calls.lifecycle import adopt_action, call_from_row
from node.features.calls.views import call_json
from node.features.following.approval import approve_follower
from node.features.impact.exclusions import (
    AlreadyExcluded,
    ExclusionRefused,
    exclude,
    include,
    members,
)
from node.interfaces.api.routes import _body, _json, api
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from storage.errors import AlreadyExists
from storage.models.states import ActorKind
from storage.repositories import actors as actor_repo

routes = web.RouteTableDef()


def _text(data: dict[str, object], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise HttpError(422, f"{key} must be a non-empty string", title=f"Invalid field: {key}")
    return value.strip()


def _optional_text(data: dict[str, object], key: str) -> str | None:
    return None if data.get(key) is None else _text(data, key)


@routes.post("/api/v1/campaigns")
@api
async def create_campaign(request: web.Request, who: Principal) -> web.Response:
    if not who.is_admin:
        raise Forbidden("only the node's admins create campaigns")
    data = await _body(request)
    approve = data.get("approve_chapters", False)
    if not isinstance(approve, bool):
        raise HttpError(422, "approve_chapters must be true or false")
    name = _text(data, "name")
    try:
        created = await create_actor(
            request.app[SERVICES],
            name,
            ActorKind.CAMPAIGN,
            title=_optional_text(data, "title"),
            summary=_optional_text(data, "summary"),
            approve_followers=approve,
        )
    except AlreadyExists as exc:
        raise HttpError(409, str(exc)) from exc
    except ValueError as exc:
        raise HttpError(422, str(exc), title="Invalid field: name") from exc
    actor = created.actor
    body = {"id": actor.ap_id, "name": actor.name, "approve_chapters": approve}
    return _json(body, status=201, headers={"Location": actor.ap_id})


@routes.get("/api/v1/campaigns/{campaign}/members")
@api
async def campaign_members(request: web.Request, who: Principal) -> web.Response:
    found = await members(request.app[SERVICES], request.match_info["campaign"])
    return _json({"members": [m.as_json() for m in found]})


@routes.post("/api/v1/campaigns/{campaign}/members")
@api
async def approve_member(request: web.Request, who: Principal) -> web.Response:
    """Approve a chapter that asked to join: ``{"chapter": IRI}``."""
    services = request.app[SERVICES]
    chapter = _text(await _body(request), "chapter")
    async with services.db.read() as session:
        campaign = await actor_repo.local_actor_by_name(session, request.match_info["campaign"])
    if campaign is None or campaign.kind != ActorKind.CAMPAIGN:
        raise NotFoundError(f"no campaign named {request.match_info['campaign']!r} on this node")
    await approve_follower(services, who, campaign, chapter)
    return _json({"chapter": chapter, "state": "accepted"})


@routes.post("/api/v1/campaigns/{campaign}/exclusions")
@api
async def add_exclusion(request: web.Request, who: Principal) -> web.Response:
    """Leave a report or a chapter out of the totals: ``{"target": IRI, "reason": TEXT}``."""
    data = await _body(request)
    target, reason = _text(data, "target"), _text(data, "reason")
    try:
        moved = await exclude(
            request.app[SERVICES], who, request.match_info["campaign"], target, reason
        )
    except AlreadyExcluded as exc:
        raise HttpError(409, str(exc)) from exc
    except ExclusionRefused as exc:
        raise HttpError(422, str(exc)) from exc
    return _json({"target": target, "reason": reason, "reports": moved}, status=201)


@routes.delete("/api/v1/campaigns/{campaign}/exclusions")
@api
async def remove_exclusion(request: web.Request, who: Principal) -> web.Response:
    """Count an excluded report or chapter again: ``?target=IRI``."""
    target = request.query.get("target", "").strip()
    if not target:
        raise HttpError(400, "name the excluded report or chapter: ?target=IRI")
    try:
        moved = await include(request.app[SERVICES], who, request.match_info["campaign"], target)
    except ExclusionRefused as exc:
        raise HttpError(404, str(exc)) from exc
    return _json({"target": target, "reports": moved})


@routes.post("/api/v1/chapters/{chapter}/adoptions")
@api
async def adopt(request: web.Request, who: Principal) -> web.Response:
    """Take up a campaign's call: ``{"call": IRI}``; taking it up again gives the same call."""
    services = request.app[SERVICES]
    call = _text(await _body(request), "call")
    row = await adopt_action(services, who, call, request.match_info["chapter"])
    return _json(
        call_json(call_from_row(row, services), local=True), headers={"Location": row.ap_id}
    )
