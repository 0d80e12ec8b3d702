"""Export endpoints: a call's participants and a chapter's reports as CSV (the chapter's
organisers), and a member's own data as JSON (``/api/v1/me/export``). The rows and the guard
against formula injection are the feature's (node/features/actors/exports.py)."""

from __future__ import annotations

import orjson
from aiohttp import web

from node.features.actors.authz import Principal
from node.features.actors.exports import member_data, participants_csv, reports_csv
from node.interfaces.api.routes import api
from node.runtime.appkeys import SERVICES

routes = web.RouteTableDef()

NO_STORE = "no-store"  # personal data: never kept by a shared cache


def attachment(body: str | bytes, content_type: str, filename: str) -> web.Response:
    """A download: the browser saves it as ``filename`` instead of showing it."""
    return web.Response(
        body=body.encode("utf-8") if isinstance(body, str) else body,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": NO_STORE,
            "X-Content-Type-Options": "nosniff",
        },
    )


def csv_response(text: str, filename: str) -> web.Response:
    return attachment(text, "text/csv; charset=utf-8", filename)


def member_data_response(data: object, name: str) -> web.Response:
    body = orjson.dumps(data, option=orjson.OPT_INDENT_2)
    return attachment(body, "application/json", f"{name}-data.json")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:64] or "export"


@routes.get(r"/api/v1/chapters/{chapter}/actions/{ulid}/participants.csv")
@api
async def participants_export(request: web.Request, who: Principal) -> web.Response:
    chapter, ulid = request.match_info["chapter"], request.match_info["ulid"]
    text = await participants_csv(request.app[SERVICES], who, chapter, ulid)
    return csv_response(text, f"{_safe(chapter)}-{_safe(ulid)}-participants.csv")


@routes.get("/api/v1/chapters/{chapter}/reports.csv")
@api
async def reports_export(request: web.Request, who: Principal) -> web.Response:
    chapter = request.match_info["chapter"]
    text = await reports_csv(request.app[SERVICES], who, chapter)
    return csv_response(text, f"{_safe(chapter)}-reports.csv")


@routes.get("/api/v1/me/export")
@api
async def my_data(request: web.Request, who: Principal) -> web.Response:
    data = await member_data(request.app[SERVICES], who)
    return member_data_response(data, _safe(who.actor.name))
