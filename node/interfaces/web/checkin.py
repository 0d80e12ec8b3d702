"""Check-in at the door: the organisers' page listing a call's participants with one button
each (check in, or undo), walk-ins by name or as a count, the count so far and the call's
check-in code; and the form on the call's page where a signed-in member enters that code.

Plain forms (no JavaScript), each with its CSRF token; a tap posts and comes back to the page
(303), so reloading never posts twice. The features check the organiser's role on every read
and change (node/features/calls/attendance.py): anyone else gets 403.
"""

from __future__ import annotations

from aiohttp import web

from node.features.calls.attendance import (
    AttendanceError,
    attendance_sheet,
    record_attendance,
    remove_walk_in,
)
from node.features.calls.checkin_code import (
    CheckinClosed,
    CheckinThrottled,
    WrongCode,
    check_in_with_code,
    checkin_code,
    shown_code,
)
from node.interfaces.web.common import back, flash, local_call, page, require_member
from node.interfaces.web.language import translator
from node.interfaces.web.session import check_csrf
from node.interfaces.web.words import said
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError

routes = web.RouteTableDef()

PAGE = "/actors/{name}/actions/{ulid}/checkin"


async def _sheet_page(request: web.Request, error: str | None = None) -> web.Response:
    who = await require_member(request)
    row, _ = await local_call(request)
    services = request.app[SERVICES]
    code = await checkin_code(services, who, row.ap_id)  # made when first asked for
    sheet = await attendance_sheet(services, who, row.ap_id)
    response = await page(request, "checkin.html", sheet=sheet, code=shown_code(code), error=error)
    if error is not None:
        response.set_status(422)
    return response


@routes.get(PAGE)
async def checkin_page(request: web.Request) -> web.Response:
    return await _sheet_page(request)


@routes.post(PAGE)
async def checkin_tap(request: web.Request) -> web.Response:
    """One participant checked in, or (``undo``) their check-in taken back."""
    form = await check_csrf(request)
    who = await require_member(request)
    row, _ = await local_call(request)
    undo = bool(form.get("undo"))
    t = await translator(request)
    try:
        done = await record_attendance(
            request.app[SERVICES], who, row.ap_id, people=[form.get("actor", "")], undo=undo
        )
    except AttendanceError as exc:
        return await _sheet_page(request, said(t, exc))
    change = done.changes[0]
    if undo:
        told = t.gettext("Check-in undone: %(name)s.", name=change.who)
        if not change.changed:
            told = t.gettext("Check-in undone: %(name)s (already so).", name=change.who)
    else:
        told = t.gettext("Checked in: %(name)s.", name=change.who)
        if not change.changed:
            told = t.gettext("Checked in: %(name)s (already so).", name=change.who)
    came = t.ngettext("%(num)s person came.", "%(num)s people came.", done.tally.came)
    await flash(request, f"{told} {came}")
    raise back(f"{row.ap_id}/checkin")


@routes.post(PAGE + "/walk-ins")
async def walk_ins(request: web.Request) -> web.Response:
    """A walk-in by name, a number of walk-ins (or taken back), or one named walk-in removed."""
    form = await check_csrf(request)
    who = await require_member(request)
    row, _ = await local_call(request)
    services = request.app[SERVICES]
    t = await translator(request)
    try:
        if form.get("remove"):
            try:
                row_id = int(form["remove"])
            except ValueError as exc:
                raise AttendanceError(
                    t.gettext("that walk-in is not recorded for this action call")
                ) from exc
            tally = await remove_walk_in(services, who, row.ap_id, row_id)
            message = t.gettext("Walk-in removed.")
        elif form.get("name", "").strip():
            done = await record_attendance(services, who, row.ap_id, names=[form["name"]])
            tally = done.tally
            message = t.gettext("Walk-in added: %(name)s.", name=done.changes[0].who)
        else:
            text = form.get("count", "").strip()
            if not text.isdigit() or int(text) < 1:
                raise AttendanceError(
                    t.gettext("give a walk-in's name, or how many came (1 or more)")
                )
            undo = bool(form.get("undo"))
            done = await record_attendance(services, who, row.ap_id, walk_ins=int(text), undo=undo)
            tally = done.tally
            count = int(text)
            message = (
                t.ngettext("%(num)s walk-in taken back.", "%(num)s walk-ins taken back.", count)
                if undo
                else t.ngettext("%(num)s walk-in added.", "%(num)s walk-ins added.", count)
            )
    except AttendanceError as exc:
        return await _sheet_page(request, said(t, exc))
    came = t.ngettext("%(num)s person came.", "%(num)s people came.", tally.came)
    await flash(request, f"{message} {came}")
    raise back(f"{row.ap_id}/checkin")


@routes.post(PAGE + "/code")
async def code_checkin(request: web.Request) -> web.Response:
    """A signed-in member checks themselves in with the code shown at the action."""
    form = await check_csrf(request)
    who = await require_member(request)
    row, _ = await local_call(request)
    t = await translator(request)
    try:
        fresh = await check_in_with_code(
            request.app[SERVICES], who, row.ap_id, form.get("code", "")
        )
    except CheckinThrottled as exc:
        raise HttpError(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from exc
    except WrongCode as exc:
        raise HttpError(422, str(exc)) from exc
    except CheckinClosed as exc:
        raise HttpError(
            409, t.gettext("Cannot check in: %(reason)s.", reason=said(t, exc))
        ) from exc
    await flash(
        request,
        t.gettext("You are checked in. Thank you for coming!")
        if fresh
        else t.gettext("You were already checked in."),
    )
    raise back(row.ap_id)
