"""Download links on the pages: a call's participants and a chapter's reports as CSV (on the
manage page, for organisers) and a member's own data as JSON (on /me). The same files as the
API's (node/interfaces/api/export_routes.py), for the signed-in member of the session."""

from __future__ import annotations

from aiohttp import web

from node.features.actors.authz import Forbidden, NotFoundError
from node.features.actors.exports import member_data, participants_csv, reports_csv
from node.interfaces.api.export_routes import csv_response, member_data_response
from node.interfaces.web.common import require_member
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError

routes = web.RouteTableDef()


@routes.get("/actors/{name}/actions/{ulid:[0-9A-Z]{26}}/participants.csv")
async def participants_download(request: web.Request) -> web.Response:
    who = await require_member(request)
    name, ulid = request.match_info["name"], request.match_info["ulid"]
    try:
        text = await participants_csv(request.app[SERVICES], who, name, ulid)
    except Forbidden as exc:
        raise HttpError(403, str(exc)) from exc
    except NotFoundError as exc:
        raise HttpError(404, str(exc)) from exc
    return csv_response(text, f"{name}-{ulid}-participants.csv")


@routes.get("/actors/{name}/reports.csv")
async def reports_download(request: web.Request) -> web.Response:
    who = await require_member(request)
    name = request.match_info["name"]
    try:
        text = await reports_csv(request.app[SERVICES], who, name)
    except Forbidden as exc:
        raise HttpError(403, str(exc)) from exc
    except NotFoundError as exc:
        raise HttpError(404, str(exc)) from exc
    return csv_response(text, f"{name}-reports.csv")


@routes.get("/me/export")
async def my_data_download(request: web.Request) -> web.Response:
    who = await require_member(request)
    data = await member_data(request.app[SERVICES], who)
    return member_data_response(data, who.actor.name)
