"""The organiser's form for a chapter's place, area served, languages and topics (on its manage
page). Plain HTML: it works without JavaScript. The same rules as ``chapter update`` and the
API's ``PATCH``: every value is checked before anything is stored, and followers get an
``Update`` of the Group when something changed."""

from __future__ import annotations

import re

from aiohttp import web

from node.features.actors.directory import is_organiser
from node.features.actors.local import update_chapter
from node.interfaces.web.common import back, flash, named_actor, require_member
from node.interfaces.web.language import N_, translator
from node.interfaces.web.session import check_csrf
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from protocol.chapter_profile import InvalidProfileField
from storage.models.states import GROUP_KINDS

routes = web.RouteTableDef()

#: Lists are typed as words separated by commas, spaces or new lines (regions: commas or lines).
_WORDS = re.compile(r"[\s,]+")
_ITEMS = re.compile(r"[,\n]+")


def _number(form: dict[str, str], key: str) -> float | None:
    text = form.get(key, "").strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidProfileField(key, N_("{value!r} is not a number"), value=text[:40]) from None


def form_changes(form: dict[str, str]) -> dict[str, object]:
    """Every profile field of the form as a change (an empty field clears its part)."""
    lat, lon = _number(form, "latitude"), _number(form, "longitude")
    if (lat is None) != (lon is None):
        raise InvalidProfileField("coordinates", N_("give both latitude and longitude, or neither"))
    return {
        "place_name": form.get("place_name", "").strip() or None,
        "address": form.get("address", "").strip() or None,
        "coordinates": None if lat is None else (lat, lon),
        "radius_km": _number(form, "radius_km"),
        "regions": [r.strip() for r in _ITEMS.split(form.get("regions", "")) if r.strip()],
        "languages": [w for w in _WORDS.split(form.get("languages", "")) if w],
        "topics": [w for w in _WORDS.split(form.get("topics", "")) if w],
    }


@routes.post("/actors/{name}/profile")
async def save_profile(request: web.Request) -> web.Response:
    form = await check_csrf(request)
    who = await require_member(request)
    actor = await named_actor(request)
    services = request.app[SERVICES]
    t = await translator(request)
    if actor.kind not in GROUP_KINDS:
        raise HttpError(404, t.gettext("no such chapter on this node"))
    if not await is_organiser(services, who, actor):
        raise HttpError(403, t.gettext("only organisers can change a chapter's place and topics"))
    try:
        await update_chapter(services, actor.name, profile=form_changes(form))
    except InvalidProfileField as exc:
        raise HttpError(422, str(exc), title=f"Invalid field: {exc.field}") from exc
    await flash(request, t.gettext("Saved: the chapter's place, languages and topics."))
    raise back(f"{actor.ap_id}/manage")
