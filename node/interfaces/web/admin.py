"""The node admin's page: roles, the delivery queue, domain blocks and flags.

Only node admins may see or post to these pages; everyone else gets a 403 (or the sign-in page
when not signed in).
"""

from __future__ import annotations

from aiohttp import web

from node.features.actors.authz import NotFoundError, Principal
from node.features.actors.directory import find_local_actor
from node.features.actors.names import names_of
from node.features.actors.revocation import revoke_sessions, revoke_tokens
from node.features.calls.input import FieldError
from node.features.moderation.admin import (
    RoleRefused,
    admin_overview,
    grant_role,
    retry_dead_deliveries,
)
from node.features.moderation.blocks import block_domain
from node.features.moderation.flags import FlagAlreadyResolved, flag_id_from, resolve_flag
from node.interfaces.web.common import back, flash, page, require_member
from node.interfaces.web.language import N_, translator
from node.interfaces.web.session import check_csrf
from node.interfaces.web.words import said
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from storage.models.states import ActorKind, Severity

routes = web.RouteTableDef()


async def require_admin(request: web.Request) -> Principal:
    who = await require_member(request)
    if not who.is_admin:
        t = await translator(request)
        raise HttpError(403, t.gettext("only node admins can see this page"))
    return who


@routes.get("/admin")
async def admin(request: web.Request) -> web.Response:
    await require_admin(request)
    overview = await admin_overview(request.app[SERVICES])
    flags = [*overview.flags, *overview.resolved]
    named: list[object] = [f.reporter for f in flags] + [f.resolved_by for f in flags]
    named += [t for f in flags for t in (f.targets if isinstance(f.targets, list) else ())]
    people = await names_of(request.app[SERVICES], named)
    return await page(
        request,
        "admin.html",
        actors=overview.actors,
        queue=overview.queue,
        deliveries=overview.deliveries,
        blocks=overview.blocks,
        flags=overview.flags,
        resolved_flags=overview.resolved,
        people=people,
    )


@routes.post("/admin/blocks")
async def admin_block(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    await require_admin(request)
    t = await translator(request)
    try:
        domain = await block_domain(
            request.app[SERVICES],
            form.get("domain", ""),
            form.get("severity", Severity.SUSPEND),
            form.get("reason") or None,
        )
        await flash(request, t.gettext("Blocked %(domain)s.", domain=domain))
    except ValueError as exc:
        await flash(request, t.gettext("Could not block: %(reason)s", reason=said(t, exc)))
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
    t = await translator(request)
    await flash(
        request,
        t.gettext(
            "%(member)s is now %(role)s of %(chapter)s.",
            member=member.name,
            role=t.gettext(role),
            chapter=chapter.name,
        ),
    )
    raise back("/admin")


#: What an admin can revoke for a member: (heading, what it does) for the confirmation page.
REVOCATIONS = {
    "sessions": (
        N_("Sign %(name)s out everywhere"),
        N_(
            "Every browser where %(name)s is signed in is signed out at once; "
            "%(name)s can sign in again."
        ),
    ),
    "tokens": (
        N_("Revoke %(name)s's API tokens"),
        N_(
            "Every API token of %(name)s stops working at once (scripts using them get 401); "
            "%(name)s's roles stay."
        ),
    ),
}


@routes.post("/admin/members/revoke")
async def admin_revoke(request: web.Request) -> web.Response:
    """Sign a member out everywhere, or revoke their API tokens: the row's button shows a
    confirmation page, whose button (``confirm=yes``) does it."""
    form = await check_csrf(request)
    await require_admin(request)
    services = request.app[SERVICES]
    what, name = form.get("what", ""), form.get("member", "").strip()
    t = await translator(request)
    if what not in REVOCATIONS:
        raise HttpError(422, t.gettext("what must be 'sessions' or 'tokens'"))
    actor = await find_local_actor(services, name)
    if actor is None or actor.kind != ActorKind.MEMBER:
        raise HttpError(404, t.gettext("no member named %(name)r on this node", name=name))
    if form.get("confirm") != "yes":
        heading, consequence = (t.gettext(text, name=actor.name) for text in REVOCATIONS[what])
        return await page(
            request,
            "admin_confirm.html",
            heading=heading,
            consequence=consequence,
            member=actor.name,
            what=what,
        )
    try:
        if what == "sessions":
            await revoke_sessions(services, actor.name)
            message = t.gettext("%(name)s is signed out everywhere.", name=actor.name)
        else:
            count = await revoke_tokens(services, actor.name)
            message = t.ngettext(
                "Revoked %(num)s API token of %(name)s.",
                "Revoked %(num)s API tokens of %(name)s.",
                count,
                name=actor.name,
            )
    except NotFoundError as exc:
        raise HttpError(404, str(exc)) from exc
    await flash(request, message)
    raise back("/admin")


@routes.post("/admin/deliveries/retry")
async def admin_retry(request: web.Request) -> web.Response:
    await check_csrf(request)
    await require_admin(request)
    count = await retry_dead_deliveries(request.app[SERVICES])
    t = await translator(request)
    await flash(
        request, t.ngettext("Re-queued %(num)s delivery.", "Re-queued %(num)s deliveries.", count)
    )
    raise back("/admin")


@routes.post("/admin/flags/{id}/resolve")
async def admin_resolve_flag(request: web.Request) -> web.Response:
    """Close an open abuse report with the admin's note on what was done (final)."""
    form = await check_csrf(request)
    who = await require_admin(request)
    try:
        row = await resolve_flag(
            request.app[SERVICES], who, flag_id_from(request.match_info["id"]), form.get("note")
        )
    except FieldError as exc:
        raise HttpError(422, str(exc)) from exc
    except NotFoundError as exc:
        raise HttpError(404, str(exc)) from exc
    except FlagAlreadyResolved as exc:
        raise HttpError(409, str(exc)) from exc
    t = await translator(request)
    await flash(request, t.gettext("Report %(id)s resolved.", id=row.id))
    raise back("/admin")
