"""Organisers' pages for changes that reach everyone a call concerns: cancelling (after a
confirmation page that asks for a reason), restoring, and settling what a campaign changed in
an adopted call that the chapter had changed too.

The features check the organiser's role again on every change; the checks here decide only
which page to show. Every form posts with the session's CSRF token.
"""

from __future__ import annotations

from aiohttp import web

from node.features.actors.directory import is_organiser
from node.features.calls.adoption.follow import Conflict, conflicts, settle_conflict
from node.features.calls.input import FieldError
from node.features.calls.lifecycle import (
    call_from_row,
    cancel_action,
    cancellation_reason,
    restore_action,
)
from node.interfaces.web.common import back, flash, local_call, page, require_member
from node.interfaces.web.language import translator
from node.interfaces.web.localise import call_summary
from node.interfaces.web.session import check_csrf
from node.interfaces.web.words import field_error
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from storage.models import ActionCall as CallRow

routes = web.RouteTableDef()


async def _confirm_page(
    request: web.Request, row: CallRow, *, reason: str = "", error: str | None = None
) -> web.Response:
    call = call_from_row(row, request.app[SERVICES])
    response = await page(
        request,
        "call_cancel.html",
        call=call,
        summary=call_summary(await translator(request), call),
        reason=reason,
        error=error,
    )
    if error is not None:
        response.set_status(422)
    return response


@routes.get("/actors/{name}/actions/{ulid}/cancel")
async def cancel_form(request: web.Request) -> web.Response:
    """Are you sure? Who will be told, and a box for the reason they will read."""
    who = await require_member(request)
    row, chapter = await local_call(request)
    t = await translator(request)
    if not await is_organiser(request.app[SERVICES], who, chapter):
        raise HttpError(403, t.gettext("only organisers can cancel action calls"))
    if call_from_row(row, request.app[SERVICES]).cancelled:
        await flash(request, t.gettext("This action call is already cancelled."))
        raise back(row.ap_id)
    return await _confirm_page(request, row)


@routes.post("/actors/{name}/actions/{ulid}/cancel")
async def cancel_call(request: web.Request) -> web.Response:
    """Cancel once confirmed; a post without the confirmation is sent to the question."""
    form = await check_csrf(request)
    who = await require_member(request)
    row, _ = await local_call(request)
    if form.get("confirm") != "yes":
        raise back(f"{row.ap_id}/cancel")
    reason = form.get("reason", "")
    try:
        await cancel_action(request.app[SERVICES], who, row.ap_id, reason)
    except FieldError as exc:
        t = await translator(request)
        return await _confirm_page(request, row, reason=reason, error=field_error(t, exc))
    t = await translator(request)
    await flash(request, t.gettext("Cancelled: followers and everyone who answered are told."))
    raise back(row.ap_id)


@routes.post("/actors/{name}/actions/{ulid}/restore")
async def restore_call(request: web.Request) -> web.Response:
    await check_csrf(request)
    who = await require_member(request)
    row, _ = await local_call(request)
    await restore_action(request.app[SERVICES], who, row.ap_id)
    t = await translator(request)
    await flash(request, t.gettext("Restored: followers and everyone who answered are told."))
    raise back(row.ap_id)


@routes.post("/actors/{name}/actions/{ulid}/adoption")
async def settle_adoption(request: web.Request) -> web.Response:
    """Keep our value of a field the campaign changed too, or take the campaign's."""
    form = await check_csrf(request)
    who = await require_member(request)
    row, _ = await local_call(request)
    field, choice = form.get("field", ""), form.get("choice", "")
    try:
        await settle_conflict(request.app[SERVICES], who, row.ap_id, field, choice)
    except FieldError as exc:
        raise HttpError(422, str(exc)) from exc
    t = await translator(request)
    shown = t.gettext(field)
    if choice == "theirs":
        await flash(
            request,
            t.gettext(
                "Took the campaign's %(field)s; followers and participants are told.", field=shown
            ),
        )
    else:
        await flash(request, t.gettext("Kept your %(field)s.", field=shown))
    raise back(row.ap_id)


async def call_changes_context(
    request: web.Request, row: CallRow, organiser: bool
) -> dict[str, object]:
    """What the call's page shows of these changes: the cancellation's reason to everyone,
    fields in conflict with the campaign to the call's organisers."""
    services = request.app[SERVICES]
    shown: list[Conflict] = conflicts(row, services) if organiser else []
    return {"cancel_reason": cancellation_reason(row.document), "conflicts": shown}
