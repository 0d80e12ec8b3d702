"""``/api/v1`` endpoints. Each answers problem+json on error, and each authenticates first
except the public reads (``public_get``, node/interfaces/api/public.py), which anyone may call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from node.features.actors.authz import (
    Forbidden,
    NotFoundError,
    Principal,
    local_chapter,
    require_organiser,
)
from node.features.calls.input import FieldError
from node.features.calls.lifecycle import (
    call_from_row,
    cancel_action,
    create_action,
    list_actions,
    restore_action,
    update_action,
)
from node.features.calls.polls import publish_poll
from node.features.calls.rsvp import CallEnded, RsvpError, commitments, leave, rsvp
from node.features.calls.views import call_json, commitment_json
from node.features.following.feed import feed_page
from node.features.following.follow import FollowError, follow, following, unfollow
from node.features.impact.campaigns import campaign_totals
from node.interfaces.api.auth import authenticate
from node.interfaces.api.openapi import openapi_document
from node.interfaces.api.public import public_get
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from protocol.timefmt import format_xsd_datetime
from storage.models.states import CommitmentState
from storage.repositories import actions as action_repo

routes = web.RouteTableDef()
MAX_JSON = 64 * 1024
Handler = Callable[[web.Request, Principal], Awaitable[web.StreamResponse]]


def _json(data: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, body=orjson.dumps(data), content_type="application/json", headers=headers
    )


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise HttpError(415, "send the request body as application/json")
    raw = await request.content.read(MAX_JSON + 1)
    if len(raw) > MAX_JSON:
        raise HttpError(413, f"request body exceeds {MAX_JSON} bytes")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HttpError(400, f"request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise HttpError(400, "request body must be a JSON object")
    return data


def api(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Authenticate, then map domain errors to precise HTTP answers."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        who = await authenticate(request)
        try:
            return await handler(request, who)
        except FieldError as exc:
            raise HttpError(422, str(exc), title=f"Invalid field: {exc.field}") from exc
        except Forbidden as exc:
            raise HttpError(403, str(exc)) from exc
        except NotFoundError as exc:
            raise HttpError(404, str(exc)) from exc
        except (FollowError, RsvpError) as exc:
            raise HttpError(422, str(exc)) from exc

    return wrapped


def _page(request: web.Request) -> tuple[int, int]:
    try:
        page = int(request.query.get("page", "1"))
        per_page = int(request.query.get("per_page", "20"))
    except ValueError as exc:
        raise HttpError(400, "page and per_page must be integers") from exc
    if not 1 <= page <= 100_000 or not 1 <= per_page <= 100:
        raise HttpError(400, "page must be ≥ 1 and per_page between 1 and 100")
    return page, per_page


def _call_id(request: web.Request) -> str:
    services = request.app[SERVICES]
    chapter, ulid = request.match_info["chapter"], request.match_info["ulid"]
    return services.ids.actor_part(chapter, f"actions/{ulid}")


@routes.get("/api/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return _json(openapi_document(request.app[SERVICES].settings.base_url))


@routes.get("/api/v1/me")
@api
async def me(request: web.Request, who: Principal) -> web.Response:
    services = request.app[SERVICES]
    async with services.db.read() as session:
        chapters = await action_repo.chapters_of(session, who.actor.id)
    return _json(
        {
            "id": who.actor.ap_id,
            "name": who.actor.name,
            "handle": f"{who.actor.name}@{services.ids.authority}",
            "role": who.role,
            "chapters": [{"id": c.ap_id, "name": c.name, "role": role} for c, role in chapters],
        }
    )


@public_get(routes, "/api/v1/chapters/{chapter}/actions")
async def list_calls(request: web.Request, who: Principal | None) -> dict[str, object]:
    """Public: the calls are the chapter's published Events (its outbox, feeds and page)."""
    services = request.app[SERVICES]
    rows = await list_actions(services, request.match_info["chapter"])
    return {"items": [call_json(call_from_row(r, services), local=True) for r in rows]}


@routes.post("/api/v1/chapters/{chapter}/actions")
@api
async def create_call(request: web.Request, who: Principal) -> web.Response:
    services = request.app[SERVICES]
    body = await _body(request)
    poll = body.pop("poll", False)  # also publish the call's RSVP poll
    if not isinstance(poll, bool):
        raise FieldError("poll", "must be true or false")
    row = await create_action(services, who, request.match_info["chapter"], body)
    if poll:
        row = await publish_poll(services, who, row.ap_id)
    created = call_json(call_from_row(row, services), local=True)
    if row.poll:
        created["poll"] = row.poll
    return _json(created, status=201, headers={"Location": row.ap_id})


@public_get(routes, "/api/v1/chapters/{chapter}/actions/{ulid}")
async def get_call(request: web.Request, who: Principal | None) -> dict[str, object]:
    """Public: the call's published Event, as JSON."""
    services = request.app[SERVICES]
    async with services.db.read() as session:
        row = await action_repo.call_by_ap_id(session, _call_id(request))
    if row is None or row.local_actor_id is None:
        raise NotFoundError("no such action call on this node")
    return call_json(call_from_row(row, services), local=True)


@routes.patch("/api/v1/chapters/{chapter}/actions/{ulid}")
@api
async def update_call(request: web.Request, who: Principal) -> web.Response:
    services = request.app[SERVICES]
    row = await update_action(services, who, _call_id(request), await _body(request))
    return _json(call_json(call_from_row(row, services), local=True))


@routes.post("/api/v1/chapters/{chapter}/actions/{ulid}/cancel")
@api
async def cancel_call(request: web.Request, who: Principal) -> web.Response:
    """The body is optional: ``{"reason": "..."}`` tells participants why."""
    services = request.app[SERVICES]
    data = await _body(request) if request.body_exists else {}
    unknown = sorted(set(data) - {"reason"})
    if unknown:
        raise FieldError(unknown[0], "is not a field of a cancellation (only reason)")
    row = await cancel_action(services, who, _call_id(request), data.get("reason"))
    return _json(call_json(call_from_row(row, services), local=True))


@routes.post("/api/v1/chapters/{chapter}/actions/{ulid}/restore")
@api
async def restore_call(request: web.Request, who: Principal) -> web.Response:
    services = request.app[SERVICES]
    row = await restore_action(services, who, _call_id(request))
    return _json(call_json(call_from_row(row, services), local=True))


@routes.get("/api/v1/chapters/{chapter}/actions/{ulid}/participants")
@api
async def call_participants(request: web.Request, who: Principal) -> web.Response:
    """Who is coming: organisers only (members' names stay off the public documents)."""
    services = request.app[SERVICES]
    async with services.db.read() as session:
        chapter = await local_chapter(session, request.match_info["chapter"])
        await require_organiser(session, who, chapter)
        row = await action_repo.call_by_ap_id(session, _call_id(request))
        if row is None or row.local_actor_id != chapter.id:
            raise NotFoundError("no such action call in this chapter")
        rows = await action_repo.participants(session, row.id)
    return _json(  # state: accepted (holds a place) or waitlisted (in this order)
        {
            "items": [
                {
                    "actor": p.actor,
                    "joined": format_xsd_datetime(p.created_at),
                    "state": p.state,
                    "slot": p.slot,
                }
                for p in rows
            ]
        }
    )


@public_get(routes, "/api/v1/campaigns/{campaign}/totals")
async def totals(request: web.Request, who: Principal | None) -> dict[str, object]:
    """Public (the campaign page and signed rollup show it all): totals now, per chapter, and
    as published over time (one point per rollup)."""
    result = await campaign_totals(request.app[SERVICES], request.match_info["campaign"])
    return {**result.summary(), "chapters": result.chapters, "history": result.history}


@routes.get("/api/v1/feed")
@api
async def feed(request: web.Request, who: Principal) -> web.Response:
    services = request.app[SERVICES]
    page, per_page = _page(request)
    items, more = await feed_page(services, who, page=page, per_page=per_page)
    body: dict[str, object] = {"items": items, "page": page}
    if more:
        body["next"] = f"{services.ids.url('api/v1/feed')}?page={page + 1}&per_page={per_page}"
    return _json(body)


@routes.get("/api/v1/follows")
@api
async def list_follows(request: web.Request, who: Principal) -> web.Response:
    rows = await following(request.app[SERVICES], who.actor.name)
    return _json({"items": [{"target": r.target, "state": r.state} for r in rows]})


@routes.post("/api/v1/follows")
@api
async def add_follow(request: web.Request, who: Principal) -> web.Response:
    target = (await _body(request)).get("target")
    if not isinstance(target, str) or not target.strip():
        raise FieldError(
            "target", "is required: a handle such as greenpark@chapter.example or an actor URL"
        )
    result = await follow(request.app[SERVICES], who.actor.name, target)
    return _json({"target": result.target, "state": result.state}, status=202)


@routes.delete("/api/v1/follows")
@api
async def remove_follow(request: web.Request, who: Principal) -> web.Response:
    target = request.query.get("target", "").strip()
    if not target:
        raise FieldError("target", "is required as a query parameter")
    result = await unfollow(request.app[SERVICES], who.actor.name, target)
    return _json({"target": result.target, "state": result.state})


@routes.get("/api/v1/commitments")
@api
async def list_commitments(request: web.Request, who: Principal) -> web.Response:
    rows = await commitments(request.app[SERVICES], who)
    return _json({"items": [commitment_json(r) for r in rows]})


@routes.post("/api/v1/rsvps")
@api
async def add_rsvp(request: web.Request, who: Principal) -> web.Response:
    body = await _body(request)
    call, slot = body.get("call"), body.get("slot")
    if not isinstance(call, str) or not call.strip():
        raise FieldError("call", "is required: the action call's URL")
    if slot is not None and (not isinstance(slot, str) or not slot.strip()):
        raise FieldError("slot", "must be a slot's id, role name or number")
    try:
        result = await rsvp(request.app[SERVICES], who, call, slot)
    except CallEnded as exc:  # the call's state stands in the way, not the request
        raise HttpError(409, str(exc), title="The action call has ended") from exc
    return _json(
        {
            "call": result.call,
            "state": result.state,
            "reason": result.reason,
            "slot": result.slot,
            "position": result.position,
        },
        status=200 if result.state != CommitmentState.PENDING else 202,
    )


@routes.delete("/api/v1/rsvps")
@api
async def remove_rsvp(request: web.Request, who: Principal) -> web.Response:
    call = request.query.get("call", "").strip()
    if not call:
        raise FieldError("call", "is required as a query parameter")
    result = await leave(request.app[SERVICES], who, call)
    return _json({"call": result.call, "state": result.state})
