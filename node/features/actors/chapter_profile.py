"""A local chapter's profile (place, area served, languages, topics): stored columns to the
protocol's :class:`ChapterProfile` and back, with partial changes as every interface gives them.

The CLI, the API and the organiser's form all send *changes*: a key present changes that part
(``None`` or an empty list clears it), a key absent leaves it alone. The merged result is
validated as a whole by :func:`protocol.chapter_profile.checked_profile` before any column is
written, so a bad value stores nothing. Publishing (the ``Update`` to followers) is done by
``node.features.actors.local.update_chapter``, which calls :func:`apply_changes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from protocol.chapter_profile import ChapterProfile, InvalidProfileField, Place, checked_profile
from protocol.errors import N_
from storage.models import LocalActor

#: The keys a change may carry. ``coordinates`` is ``(lat, lon)`` or None (clears both).
PROFILE_KEYS: Final = frozenset(
    {"place_name", "address", "coordinates", "radius_km", "regions", "languages", "topics"}
)


def stored_profile(actor: LocalActor) -> ChapterProfile:
    """The profile held in ``actor``'s columns (written only through :func:`apply_changes`)."""
    lat, lon = actor.latitude, actor.longitude
    place = None
    if actor.place_name is not None or actor.address is not None or lat is not None:
        place = Place(actor.place_name, actor.address, lat, lon if lat is not None else None)
    return ChapterProfile(
        place=place,
        radius_km=actor.radius_km,
        regions=_strings(actor.regions),
        languages=_strings(actor.languages),
        topics=_strings(actor.topics),
    )


def merged_profile(current: ChapterProfile, changes: Mapping[str, object]) -> ChapterProfile:
    """``current`` with ``changes`` applied, validated; :class:`InvalidProfileField` if not."""
    unknown = set(changes) - PROFILE_KEYS
    if unknown:
        raise InvalidProfileField(sorted(unknown)[0], N_("is not a chapter profile field"))
    place = current.place or Place(None, None, None, None)
    lat: object = place.latitude
    lon: object = place.longitude
    if "coordinates" in changes:
        coordinates = changes["coordinates"]
        if coordinates is None:
            lat = lon = None
        elif isinstance(coordinates, (tuple, list)) and len(coordinates) == 2:
            lat, lon = coordinates
        else:
            raise InvalidProfileField("coordinates", N_("expected [latitude, longitude] or null"))
    return checked_profile(
        place_name=changes.get("place_name", place.name),
        address=changes.get("address", place.address),
        latitude=lat,
        longitude=lon,
        radius_km=changes.get("radius_km", current.radius_km),
        regions=_list("regions", changes.get("regions", current.regions)),
        languages=_list("languages", changes.get("languages", current.languages)),
        topics=_list("topics", changes.get("topics", current.topics)),
    )


def apply_changes(actor: LocalActor, changes: Mapping[str, object]) -> bool:
    """Validate ``changes`` against ``actor``'s profile and write them; True if anything changed
    (the caller then publishes an ``Update``). Raises before writing anything on a bad value."""
    before = stored_profile(actor)
    after = merged_profile(before, changes)
    if after == before:
        return False
    place = after.place
    actor.place_name = place.name if place else None
    actor.address = place.address if place else None
    actor.latitude = place.latitude if place else None
    actor.longitude = place.longitude if place else None
    actor.radius_km = after.radius_km
    actor.regions = list(after.regions) or None
    actor.languages = list(after.languages) or None
    actor.topics = list(after.topics) or None
    return True


def profile_json(profile: ChapterProfile) -> dict[str, object]:
    """The profile as the JSON API shows it (and accepts it back in a PATCH)."""
    place = profile.place
    coordinates = None
    if place is not None and place.latitude is not None:
        coordinates = [place.latitude, place.longitude]
    return {
        "place_name": place.name if place else None,
        "address": place.address if place else None,
        "coordinates": coordinates,
        "radius_km": profile.radius_km,
        "regions": list(profile.regions),
        "languages": list(profile.languages),
        "topics": list(profile.topics),
    }


def _list(field: str, value: object) -> tuple[object, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise InvalidProfileField(field, N_("must be a list"))
    return tuple(value)


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))
