"""``PATCH /api/v1/chapters/{chapter}``: an organiser (or admin) changes a chapter's settings
and profile (place, area served, languages, topics). The body uses the shape the public
``GET`` of the same path shows, so a client can read, edit and send back; only the fields
present change, ``null`` (or ``[]``) clears one. Same rules as ``chapter update``: every value is
checked before anything is stored, and followers get an ``Update`` of the Group."""

from __future__ import annotations

from aiohttp import web

from node.features.actors.authz import Principal, local_chapter, require_organiser
from node.features.actors.local import update_chapter
from node.features.actors.public_view import public_chapter
from node.interfaces.api.routes import _body, _json, api
from node.runtime.appkeys import SERVICES
from node.runtime.errors import HttpError
from protocol.chapter_profile import InvalidProfileField

routes = web.RouteTableDef()

SETTINGS = ("title", "summary", "timezone")
PROFILE = ("place", "radiusKm", "regions", "languages", "topics")
PLACE_KEYS = ("name", "address", "latitude", "longitude")


def _invalid(field: str, detail: str) -> HttpError:
    return HttpError(422, f"{field}: {detail}", title=f"Invalid field: {field}")


def profile_changes(data: dict[str, object]) -> dict[str, object]:
    """The body's profile fields as ``chapter_profile`` changes (values checked later)."""
    changes: dict[str, object] = {}
    if "place" in data:
        place = data["place"]
        if place is None:
            changes.update(place_name=None, address=None, coordinates=None)
        elif not isinstance(place, dict):
            raise _invalid("place", "must be an object or null")
        else:
            unknown = sorted(set(place) - set(PLACE_KEYS))
            if unknown:
                raise _invalid(f"place.{unknown[0]}", "is not a place field")
            if "name" in place:
                changes["place_name"] = place["name"]
            if "address" in place:
                changes["address"] = place["address"]
            if ("latitude" in place) != ("longitude" in place):
                raise _invalid("place.latitude", "give latitude and longitude together")
            if "latitude" in place:
                lat, lon = place["latitude"], place["longitude"]
                changes["coordinates"] = None if lat is None and lon is None else (lat, lon)
    if "radiusKm" in data:
        changes["radius_km"] = data["radiusKm"]
    for key in ("regions", "languages", "topics"):
        if key in data:
            changes[key] = data[key]
    return changes


@routes.patch("/api/v1/chapters/{chapter}")
@api
async def patch_chapter(request: web.Request, who: Principal) -> web.Response:
    services = request.app[SERVICES]
    name = request.match_info["chapter"]
    async with services.db.read() as session:
        chapter = await local_chapter(session, name)
        await require_organiser(session, who, chapter)
    data = await _body(request)
    unknown = sorted(set(data) - {*SETTINGS, *PROFILE})
    if unknown:
        raise _invalid(unknown[0], "is not a field a chapter's PATCH accepts")
    settings: dict[str, str | None] = {}
    for key in SETTINGS:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise _invalid(key, "must be a string")
        settings[key] = value
    changes = profile_changes(data)
    if not changes and all(v is None for v in settings.values()):
        raise HttpError(422, f"nothing to change: give one of {', '.join(SETTINGS + PROFILE)}")
    try:
        await update_chapter(
            services,
            name,
            timezone=settings["timezone"],
            title=settings["title"],
            summary=settings["summary"],
            profile=changes,
        )
    except InvalidProfileField as exc:
        raise _invalid(_api_name(exc.field), exc.detail) from exc
    except ValueError as exc:
        raise HttpError(422, str(exc)) from exc
    return _json(await public_chapter(services, name))


def _api_name(field: str) -> str:
    """The API's name for a profile field (``radius_km`` → ``radiusKm``)."""
    return {
        "radius_km": "radiusKm",
        "place_name": "place.name",
        "address": "place.address",
        "latitude": "place.latitude",
        "longitude": "place.longitude",
        "coordinates": "place.latitude",
    }.get(field, field)
