"""``/api/v1/chapters/{chapter}/actions/{ulid}/attendance``: who came, for the call's organisers.

The same rules as the check-in page and ``chapterhouse action checkin``
(node/features/calls/attendance.py): participants named by local name, ``@user@host`` or actor
IRI, walk-ins by name or as a count, all or nothing; anyone but an organiser gets 403. Reading
it makes the call's check-in code if it had none (the code stays the same afterwards).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.features.actors.authz import Principal
from node.features.calls.attendance import (
    AttendanceError,
    attendance_document,
    record_attendance,
)
from node.features.calls.checkin_code import checkin_code
from node.features.calls.input import FieldError
from node.interfaces.api.routes import _body, _call_id, _json, api
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError

routes = web.RouteTableDef()

PATH = "/api/v1/chapters/{chapter}/actions/{ulid}/attendance"
FIELDS = ("people", "walk_in_names", "walk_ins", "undo")


def _strings(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FieldError(name, "must be a list of strings")
    return value


@routes.get(PATH)
@api
async def get_attendance(request: web.Request, who: Principal) -> web.Response:
    services = request.app[SERVICES]
    await checkin_code(services, who, _call_id(request))
    return _json(await attendance_document(services, who, _call_id(request)))


@routes.post(PATH)
@api
async def post_attendance(request: web.Request, who: Principal) -> web.Response:
    """``{"people": [...], "walk_in_names": [...], "walk_ins": N, "undo": false}``, every field
    optional; the answer is the attendance as it now stands."""
    services = request.app[SERVICES]
    data = await _body(request)
    for name in data:
        if name not in FIELDS:
            raise FieldError(name, f"is not a field here (the fields are {', '.join(FIELDS)})")
    undo = data.get("undo", False)
    if not isinstance(undo, bool):
        raise FieldError("undo", "must be true or false")
    walk_ins = data.get("walk_ins", 0)
    if isinstance(walk_ins, bool) or not isinstance(walk_ins, int):
        raise FieldError("walk_ins", "must be a whole number, 0 or more")
    try:
        await record_attendance(
            services,
            who,
            _call_id(request),
            people=_strings(data, "people"),
            names=_strings(data, "walk_in_names"),
            walk_ins=walk_ins,
            undo=undo,
        )
    except AttendanceError as exc:
        raise HttpError(422, str(exc), title="The attendance cannot be recorded") from exc
    return _json(await attendance_document(services, who, _call_id(request)))
