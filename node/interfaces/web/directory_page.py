"""The ``/directory`` page: chapters and campaigns near a place or matching words, as a list
beside a map.

The list is the page: the search form is a plain GET form and every result (its name linked to
its page, distance, place, topics, languages, followers) is in the HTML, so it works without
JavaScript and without map tiles. The map is an enhancement on top: ``static/directory-map.js``
reads the markers from a ``<script type="application/json">`` block (data, never executed) and
draws them with the Leaflet the node serves itself (``static/vendor/leaflet``). Tiles come from
``map_tile_url``; the page's Content-Security-Policy allows images from that host and nothing
else new (scripts and styles stay ``'self'``).

The search itself is ``node.features.directory.search``; this module only reads the form and
shows the answer. A bad field (an unknown place, a radius that is not a number) is a 400 page
that says which field and why, with the form filled in as sent.

``/directory`` is also the node's ActivityPub directory: the ActivityPub side answers the JSON
and calls :func:`directory_page` for browsers (``wants_html``), as ``/actors/{name}`` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from node.features.directory.geo import UnknownPlace
from node.features.directory.search import (
    DirectoryQuery,
    DirectoryResult,
    resolve_near,
    search_directory,
)
from node.interfaces.web.language import N_, translator
from node.interfaces.web.maps import map_config, map_page, place_line, web_url
from node.runtime.appkeys import SERVICES
from protocol.chapter_profile import (
    MAX_RADIUS_KM,
    InvalidProfileField,
    normalise_topic,
    validate_language,
)
from protocol.errors import ChapterhouseError

MAX_TEXT = 200  # characters of a search's words
MAX_SHOWN = 100  # characters of an unknown place's name said back
DEFAULT_RADIUS_KM = 50.0
RESULTS = 100


#: What the page says about a field it cannot use (translated where shown).
TOO_LONG = N_("Search words are at most %(max)s characters.")
UNKNOWN_PLACE = N_(
    "We do not know the place “%(place)s”. Try a town's name, with its country if need be "
    "(Lyon, FR), or coordinates such as 51.5,-0.12."
)
NOT_A_NUMBER = N_("The distance must be a number of kilometres.")
OUT_OF_RANGE = N_("The distance must be more than 0 and at most %(max)s km.")
BAD_TOPIC = N_("A topic is one word of letters, digits or underscores, such as climate.")
BAD_LANGUAGE = N_("A language is a tag such as en, fr or pt-BR.")


class FormError(ChapterhouseError):
    """A search field that cannot be used: ``field`` names the form's input, ``message`` (a
    catalogue entry) and ``variables`` say why."""

    def __init__(self, field: str, message: str, **variables: object) -> None:
        super().__init__(message % variables if variables else message)
        self.field = field
        self.message = message
        self.variables = variables


@dataclass(frozen=True, slots=True)
class Search:
    query: DirectoryQuery
    asked: bool  # whether the form was sent with anything in it


async def read_form(form: Any) -> Search:
    """The query a submitted form asks for (raises FormError naming the field)."""
    text = str(form.get("q", "")).strip()
    if len(text) > MAX_TEXT:
        raise FormError("q", TOO_LONG, max=MAX_TEXT)
    near_text = str(form.get("near", "")).strip()
    near = None
    if near_text:
        try:
            near = await resolve_near(near_text)
        except UnknownPlace:
            raise FormError("near", UNKNOWN_PLACE, place=near_text[:MAX_SHOWN]) from None
    radius_text = str(form.get("radius", "")).strip()
    radius = None
    if radius_text:
        try:
            radius = float(radius_text)
        except ValueError:
            raise FormError("radius", NOT_A_NUMBER) from None
        if not math.isfinite(radius) or not 0 < radius <= MAX_RADIUS_KM:
            raise FormError("radius", OUT_OF_RANGE, max=f"{MAX_RADIUS_KM:g}")
    topic = _checked(form, "topic", normalise_topic, BAD_TOPIC)
    language = _checked(form, "language", validate_language, BAD_LANGUAGE)
    query = DirectoryQuery(
        text=text or None,
        near=near,
        radius_km=(radius or DEFAULT_RADIUS_KM) if near is not None else None,
        topic=topic,
        language=language,
        limit=RESULTS,
    )
    asked = any((text, near_text, radius_text, topic, language))
    return Search(query, asked)


def _checked(form: Any, field: str, check: Callable[[str], str], message: str) -> str | None:
    raw = str(form.get(field, "")).strip()
    if not raw:
        return None
    try:
        return check(raw)
    except InvalidProfileField:
        raise FormError(field, message) from None


def result_view(result: DirectoryResult) -> dict[str, Any]:
    return {
        "name": result.title or result.name or result.id,
        "handle": result.name,
        "kind": result.kind,
        "url": web_url(result.url) or web_url(result.id),
        "summary": result.summary,
        "distance_km": result.distance_km,
        "place": place_line(result.place),
        "topics": result.topics,
        "languages": result.languages,
        "followers": result.followers,
        "local": result.local,
    }


def marker(view: dict[str, Any], result: DirectoryResult) -> dict[str, Any] | None:
    place = result.place
    if place is None or place.latitude is None or place.longitude is None:
        return None
    return {
        "lat": place.latitude,
        "lon": place.longitude,
        "name": view["name"],
        "url": view["url"],
        "place": view["place"],
    }


async def directory_page(request: web.Request) -> web.Response:
    """The HTML face of ``/directory`` (GET; the form's fields in the query string)."""
    services = request.app[SERVICES]
    form = request.query
    try:
        search = await read_form(form)
    except FormError as exc:
        speaker = await translator(request)
        return await map_page(
            request,
            "directory.html",
            status=400,
            form=form,
            error=speaker.gettext(exc.message, **exc.variables),
            error_field=exc.field,
            results=[],
            searched=False,
            map_data=None,
        )
    found = await search_directory(services, search.query)
    views = [result_view(r) for r in found]
    markers = [m for v, r in zip(views, found, strict=True) if (m := marker(v, r))]
    near = search.query.near
    data = map_config(services.settings, markers)
    if near is not None:
        data["centre"] = {"lat": near[0], "lon": near[1], "radius_km": search.query.radius_km}
    return await map_page(
        request,
        "directory.html",
        form=form,
        error=None,
        error_field=None,
        results=views,
        searched=search.asked,
        radius_km=search.query.radius_km,
        map_data=data,
    )
