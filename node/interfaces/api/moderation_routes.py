"""Moderation endpoints: flags from members, the queue, resolving flags and blocks for admins,
bans and participant removal for organisers."""

from __future__ import annotations

from aiohttp import web

from node.features.actors.authz import (
    Forbidden,
    NotFoundError,
    Principal,
    local_chapter,
    require_organiser,
)
from node.features.calls.input import FieldError
from node.features.calls.participation import remove_participant as take_back_place
from node.features.moderation.blocks import block_actor, block_domain, unblock
from node.features.moderation.flags import FlagAlreadyResolved, flag_id_from, resolve_flag
from node.interfaces.api.routes import _body, _call_id, _json, api
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from protocol.errors import MalformedDocument
from protocol.ids import parse_id
from storage.models.states import FlagState, Severity
from storage.repositories import actions as action_repo
from storage.repositories import moderation as moderation_repo

routes = web.RouteTableDef()


def _require_admin(who: Principal) -> None:
    if not who.is_admin:
        raise Forbidden(f"{who.actor.name} is not an admin of this node")


def _actor_field(data: dict[str, object], name: str, allow_http: bool) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise FieldError(name, "is required: an actor URL")
    try:
        return parse_id(value.strip(), allow_http=allow_http)
    except MalformedDocument as exc:
        raise FieldError(name, str(exc)) from exc


@routes.post("/api/v1/flags")
@api
async def add_flag(request: web.Request, who: Principal) -> web.Response:
    """A member reports an action call, a report or an actor to the node's moderators."""
    services = request.app[SERVICES]
    data = await _body(request)
    target = _actor_field(data, "target", services.settings.allow_http)
    comment = data.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > 5000):
        raise FieldError("comment", "must be text of at most 5000 characters")
    async with services.db.write() as session:
        row = await moderation_repo.add_flag(
            session,
            activity_id=None,
            reporter=who.actor.ap_id,
            targets=[target],
            comment=comment,
            source="local",
            now=services.clock.now(),
        )
    return _json(moderation_repo.flag_json(row), status=201)


@routes.get("/api/v1/admin/flags")
@api
async def list_flags(request: web.Request, who: Principal) -> web.Response:
    _require_admin(who)
    services = request.app[SERVICES]
    async with services.db.read() as session:
        rows = await moderation_repo.flags(
            session, None if request.query.get("all") else FlagState.OPEN
        )
    return _json({"items": [moderation_repo.flag_json(r) for r in rows]})


@routes.post("/api/v1/flags/{id}/resolve")
@api
async def resolve(request: web.Request, who: Principal) -> web.Response:
    """An admin closes an abuse report with a note on what was done (final: a second
    resolution is 409 and changes nothing)."""
    _require_admin(who)
    flag_id = flag_id_from(request.match_info["id"])
    data = await _body(request)
    try:
        row = await resolve_flag(request.app[SERVICES], who, flag_id, data.get("note"))
    except FlagAlreadyResolved as exc:
        raise HttpError(409, str(exc)) from exc
    return _json(moderation_repo.flag_json(row))


@routes.get("/api/v1/admin/blocks")
@api
async def list_blocks(request: web.Request, who: Principal) -> web.Response:
    _require_admin(who)
    services = request.app[SERVICES]
    async with services.db.read() as session:
        domains = await moderation_repo.domain_blocks(session)
        actors = await moderation_repo.actor_blocks(session)
    return _json(
        {
            "domains": [
                {"domain": d.host, "severity": d.severity, "reason": d.reason} for d in domains
            ],
            "actors": [{"actor": a.actor, "reason": a.reason} for a in actors],
        }
    )


@routes.post("/api/v1/admin/blocks")
@api
async def add_block(request: web.Request, who: Principal) -> web.Response:
    _require_admin(who)
    services = request.app[SERVICES]
    data = await _body(request)
    reason = data.get("reason") if isinstance(data.get("reason"), str) else None
    try:
        if data.get("domain") is not None:
            severity = data.get("severity", Severity.SUSPEND)
            domain = await block_domain(services, str(data["domain"]), str(severity), reason)
            return _json({"domain": domain, "severity": severity}, status=201)
        if data.get("actor") is not None:
            actor = await block_actor(services, str(data["actor"]), reason)
            return _json({"actor": actor}, status=201)
    except ValueError as exc:
        raise FieldError("domain" if "domain" in data else "actor", str(exc)) from exc
    raise FieldError("domain", "give a domain (with a severity) or an actor")


@routes.delete("/api/v1/admin/blocks")
@api
async def remove_block(request: web.Request, who: Principal) -> web.Response:
    _require_admin(who)
    target = request.query.get("target", "").strip()
    if not target:
        raise FieldError("target", "is required as a query parameter")
    try:
        removed = await unblock(request.app[SERVICES], target)
    except ValueError as exc:
        raise FieldError("target", str(exc)) from exc
    if not removed:
        raise NotFoundError(f"{target} is not blocked")
    return _json({"target": target, "blocked": False})


@routes.post("/api/v1/chapters/{chapter}/bans")
@api
async def ban_actor(request: web.Request, who: Principal) -> web.Response:
    """A chapter stops admitting someone to its calls (and removes them from upcoming ones)."""
    services = request.app[SERVICES]
    data = await _body(request)
    actor = _actor_field(data, "actor", services.settings.allow_http)
    reason = data.get("reason") if isinstance(data.get("reason"), str) else None
    async with services.db.write() as session:
        chapter = await local_chapter(session, request.match_info["chapter"])
        await require_organiser(session, who, chapter)
        await moderation_repo.ban(session, chapter.id, actor, reason, services.clock.now())
        for row in await action_repo.calls_of_chapter(session, chapter.ap_id):
            await take_back_place(session, services, row, chapter, actor)
    services.wakeups.deliveries.set()
    services.wakeups.follow_ups.set()
    return _json({"chapter": chapter.ap_id, "banned": actor}, status=201)


@routes.delete("/api/v1/chapters/{chapter}/actions/{ulid}/participants")
@api
async def remove_participant(request: web.Request, who: Principal) -> web.Response:
    services = request.app[SERVICES]
    actor = request.query.get("actor", "").strip()
    if not actor:
        raise FieldError("actor", "is required as a query parameter")
    async with services.db.write() as session:
        chapter = await local_chapter(session, request.match_info["chapter"])
        await require_organiser(session, who, chapter)
        row = await action_repo.call_by_ap_id(session, _call_id(request))
        if row is None or row.local_actor_id != chapter.id:
            raise NotFoundError("no such action call in this chapter")
        # The participant's node hears of it (Reject of their Join) and shows "removed".
        if not await take_back_place(session, services, row, chapter, actor):
            raise NotFoundError(f"{actor} is not taking part")
    services.wakeups.deliveries.set()
    services.wakeups.follow_ups.set()
    return _json({"call": row.ap_id, "removed": actor})
