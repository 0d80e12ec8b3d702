"""Impact report endpoints: report on a call, read, correct and retract a report.

The rules are the features' (node/features/impact/reports.py), as for the CLI and the web form:
one live report per call (a second is 409 Conflict, naming the live one), and a correction is a
patch of the numbers.
"""

from __future__ import annotations

from aiohttp import web

from node.features.actors.authz import NotFoundError, Principal
from node.features.impact.reports import (
    ReportExists,
    create_report,
    patch_from_json,
    report_input_from_json,
    report_json,
    retract_own_report,
    update_report,
)
from node.interfaces.api.routes import _body, _call_id, _json, api
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from storage.repositories import impact as impact_repo

routes = web.RouteTableDef()


def _report_id(request: web.Request) -> str:
    services = request.app[SERVICES]
    chapter, ulid = request.match_info["chapter"], request.match_info["ulid"]
    return services.ids.actor_part(chapter, f"reports/{ulid}")


@routes.post("/api/v1/chapters/{chapter}/actions/{ulid}/report")
@api
async def add_report(request: web.Request, who: Principal) -> web.Response:
    services = request.app[SERVICES]
    measures, text = report_input_from_json(await _body(request))
    try:
        row = await create_report(services, who, _call_id(request), measures, text)
    except ReportExists as exc:
        chapter, ulid = request.match_info["chapter"], exc.report.rsplit("/", 1)[-1]
        raise HttpError(
            409,
            f"{exc.call} already has a live report, {exc.report}: correct it with "
            f"PATCH /api/v1/chapters/{chapter}/reports/{ulid}",
            title="The call already has a live report",
        ) from exc
    allow_http = services.settings.allow_http
    return _json(
        report_json(row, allow_http=allow_http), status=201, headers={"Location": row.ap_id}
    )


@routes.get("/api/v1/chapters/{chapter}/reports/{ulid}")
@api
async def get_report(request: web.Request, who: Principal) -> web.Response:
    services = request.app[SERVICES]
    async with services.db.read() as session:
        row = await impact_repo.report(session, _report_id(request))
    if row is None or row.local_actor_id is None:
        raise NotFoundError("no such report on this node")
    return _json(report_json(row, allow_http=services.settings.allow_http))


@routes.patch("/api/v1/chapters/{chapter}/reports/{ulid}")
@api
async def correct_report(request: web.Request, who: Principal) -> web.Response:
    services = request.app[SERVICES]
    patch, text = patch_from_json(await _body(request))
    row = await update_report(services, who, _report_id(request), patch, text)
    return _json(report_json(row, allow_http=services.settings.allow_http))


@routes.delete("/api/v1/chapters/{chapter}/reports/{ulid}")
@api
async def remove_report(request: web.Request, who: Principal) -> web.Response:
    services = request.app[SERVICES]
    row = await retract_own_report(services, who, _report_id(request))
    return _json(report_json(row, allow_http=services.settings.allow_http))
