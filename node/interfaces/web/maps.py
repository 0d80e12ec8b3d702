"""What every page with a map shares: its Content-Security-Policy, the data its script reads,
and how a place reads in a list.

The maps are drawn by ``static/directory-map.js`` with the Leaflet the node serves itself
(``static/vendor/leaflet``, 1.9.4 as published on npm). A page hands the script its markers in a
``<script type="application/json" id="map-data">`` block, which is data, never executed. The only
thing a map page's policy adds to the pages' own is images from the tile host of
``map_tile_url`` (``https://{s}.tile.example`` becomes ``https://*.tile.example``); scripts
and styles stay ``'self'``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from node.features.actors.names import Person
from node.features.impact.member_chapters import CallPoint
from node.interfaces.web.common import page
from node.runtime.appkeys import SERVICES
from node.runtime.config import Settings
from protocol.chapter_profile import Place


def tile_origin(tile_url: str) -> str:
    """The CSP source for the tile host (``{s}`` subdomains become ``*``)."""
    parts = urlsplit(tile_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    if "{s}" in host:
        host = "*." + host.split("{s}.", 1)[-1]
    return f"{parts.scheme}://{host}"


def map_policy(settings: Settings) -> str:
    """The pages' policy, plus images from the tile host (nothing else loosens)."""
    return (
        f"default-src 'self'; img-src 'self' data: {tile_origin(settings.map_tile_url)}; "
        "style-src 'self'"
    )


def map_config(settings: Settings, markers: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``directory-map.js`` reads: where tiles come from, their credit, the markers."""
    return {
        "tiles": settings.map_tile_url,
        "attribution": settings.map_attribution,
        "attributionUrl": web_url(settings.map_attribution_url),
        "markers": markers,
    }


async def map_page(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    """``page`` for a page with a map: its tile host is allowed for images."""
    response = await page(request, template, **context)
    response.set_status(status)
    response.headers["Content-Security-Policy"] = map_policy(request.app[SERVICES].settings)
    return response


def web_url(url: str | None) -> str | None:
    """A link a page may show: http(s) with a host, else none (a remote ``url`` is someone
    else's text)."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in {"http", "https"} and parts.hostname else None


def place_line(place: Place | None) -> str | None:
    """A place as one line of a list: its name, then its address."""
    if place is None:
        return None
    return ", ".join(p for p in (place.name, place.address) if p) or None


def campaign_map(
    settings: Settings, points: list[CallPoint], people: Mapping[str, Person]
) -> dict[str, Any]:
    """The campaign page's map: one marker per adopted call, named with its chapter."""
    markers = []
    for p in points:
        chapter = people.get(p.chapter)
        markers.append(
            {
                "lat": p.latitude,
                "lon": p.longitude,
                "name": p.title,
                "url": web_url(p.call),
                "place": " · ".join(
                    x for x in (chapter.name if chapter else None, p.place_name) if x
                ),
            }
        )
    return map_config(settings, markers)
