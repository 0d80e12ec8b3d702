"""The token's member's notifications: list them (newest first, ``?unread=true`` for the unread
ones) and mark them read (some by id, or all). Only the member's own notifications are ever
listed or changed: another member's ids in the body change nothing."""

from __future__ import annotations

from aiohttp import web

from node.features.actors.authz import Principal
from node.features.calls.input import FieldError
from node.features.notifications.listing import (
    DEFAULT_LIMIT,
    MAX_IDS,
    MAX_LIMIT,
    mark_read,
    notification_json,
    notifications_of,
    unread_count,
)
from node.interfaces.api.routes import _body, _json, api
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError

routes = web.RouteTableDef()
MAX_ID = 2**63  # ids are 64-bit integers in every database
_FLAGS = {"true": True, "false": False, "1": True, "0": False}


def _flag(request: web.Request, name: str) -> bool:
    raw = request.query.get(name)
    if raw is None:
        return False
    if raw.lower() not in _FLAGS:
        raise HttpError(400, f"{name} must be true or false")
    return _FLAGS[raw.lower()]


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise HttpError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


@routes.get("/api/v1/notifications")
@api
async def list_notifications(request: web.Request, who: Principal) -> web.Response:
    services = request.app[SERVICES]
    unread_only = _flag(request, "unread")
    items = await notifications_of(
        services, who.actor.id, unread_only=unread_only, limit=_limit(request)
    )
    return _json(
        {
            "items": [notification_json(item) for item in items],
            "unread": await unread_count(services, who.actor.id),
        }
    )


@routes.post("/api/v1/notifications/read")
@api
async def read_notifications(request: web.Request, who: Principal) -> web.Response:
    data = await _body(request)
    unknown = sorted(set(data) - {"ids", "all"})
    if unknown:
        raise FieldError(unknown[0], "is not a field of this request (give ids or all)")
    everything, ids = data.get("all"), data.get("ids")
    if everything is not None and ids is not None:
        raise FieldError("ids", "give either ids or all, not both")
    if everything is not None:
        if everything is not True:
            raise FieldError("all", "must be true")
        chosen = None
    else:
        if not isinstance(ids, list) or not ids:
            raise FieldError("ids", "is required: a list of notification ids (or all: true)")
        if len(ids) > MAX_IDS:
            raise FieldError("ids", f"at most {MAX_IDS} at once")
        if not all(type(i) is int and 0 < i < MAX_ID for i in ids):
            raise FieldError("ids", "must be positive whole numbers")
        chosen = [int(i) for i in ids]
    services = request.app[SERVICES]
    marked = await mark_read(services, who.actor.id, chosen)
    return _json({"marked": marked, "unread": await unread_count(services, who.actor.id)})
