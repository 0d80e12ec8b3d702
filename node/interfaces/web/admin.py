"""The node admin's page: roles, the delivery queue, domain blocks and flags.

Only node admins may see or post to these pages; everyone else gets a 403 (or the sign-in page
when not signed in).
"""

from __future__ import annotations

from aiohttp import web

from node.features.actors.authz import NotFoundError, Principal
from node.features.moderation.admin import (
    RoleRefused,
    admin_overview,
    grant_role,
    retry_dead_deliveries,
)
from node.features.moderation.blocks import block_domain
from node.interfaces.web.common import back, flash, page, require_member
from node.interfaces.web.session import check_csrf
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from storage.models.states import Severity

routes = web.RouteTableDef()


async def require_admin(request: web.Request) -> Principal:
    who = await require_member(request)
    if not who.is_admin:
        raise HttpError(403, "only node admins can see this page")
    return who


@routes.get("/admin")
async def admin(request: web.Request) -> web.Response:
    await require_admin(request)
    overview = await admin_overview(request.app[SERVICES])
    return await page(
        request,
        "admin.html",
        actors=overview.actors,
        queue=overview.queue,
        deliveries=overview.deliveries,
        blocks=overview.blocks,
        flags=overview.flags,
    )


@routes.post("/admin/blocks")
async def admin_block(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    await require_admin(request)
    try:
        domain = await block_domain(
            request.app[SERVICES],
            form.get("domain", ""),
            form.get("severity", Severity.SUSPEND),
            form.get("reason") or None,
        )
        await flash(request, f"Blocked {domain}.")
    except ValueError as exc:
        await flash(request, f"Could not block: {exc}")
    raise back("/admin")


@routes.post("/admin/roles")
async def admin_role(request: web.Request) -> web.Response:
    """Give a member a role in a chapter (member, organiser or admin of that chapter)."""
    form = await check_csrf(request)
    await require_admin(request)
    role = form.get("role", "")
    try:
        member, chapter = await grant_role(
            request.app[SERVICES], form.get("member", ""), form.get("chapter", ""), role
        )
    except RoleRefused as exc:
        raise HttpError(422, str(exc)) from exc
    except NotFoundError as exc:
        raise HttpError(404, str(exc)) from exc
    await flash(request, f"{member.name} is now {role} of {chapter.name}.")
    raise back("/admin")


@routes.post("/admin/deliveries/retry")
async def admin_retry(request: web.Request) -> web.Response:
    await check_csrf(request)
    await require_admin(request)
    count = await retry_dead_deliveries(request.app[SERVICES])
    await flash(request, f"Re-queued {count} deliveries.")
    raise back("/admin")
