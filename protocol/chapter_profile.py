"""Where a chapter is, the area it serves, what it speaks and what it works on.

A newcomer finds the chapter down the road by its place; a directory on another node learns it
from the chapter's ``Group`` actor. So the profile is published in the vocabulary other
software already reads (FEDERATION.md, "Chapters' places, topics and languages"):

* ``location``: an AS2 ``Place`` shaped as Mobilizon writes one (``name``, ``address`` as a
  schema.org ``PostalAddress``, ``latitude``/``longitude`` as floats, which Mobilizon requires),
  plus AS2's own ``radius`` with ``units: "km"`` for the area served;
* ``tag``: ``Hashtag`` objects, as Mastodon and Mobilizon write topics;
* ``knowsLanguage`` (BCP 47 tags) and ``areaServed`` (named regions): schema.org terms for an
  organisation, since neither AS2 nor Mobilizon has one.

Two directions, two attitudes. Our own input (CLI, API, forms) is *validated*: a bad value is an
:class:`InvalidProfileField` naming the field, and nothing is stored. A remote document is
*read tolerantly* by :func:`parse_chapter_profile`: a malformed value is dropped, never fatal for
an otherwise usable actor, and every list and string is capped so a hostile peer cannot make a
directory entry large.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import contextlib
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from protocol.errors import N_, FieldWordedError, MalformedDocument
from protocol.jsonld import as_list

#: Caps shared by input validation and the tolerant reader.
MAX_PLACE_NAME: Final = 200
MAX_ADDRESS: Final = 500
MAX_REGION: Final = 100
MAX_TOPIC: Final = 50
MAX_LANGUAGE_TAG: Final = 35
MAX_TOPICS: Final = 20
MAX_REGIONS: Final = 20
MAX_LANGUAGES: Final = 10
#: Half the Earth's circumference: no area served is wider.
MAX_RADIUS_KM: Final = 20_037.5
#: How many entries of a remote list are looked at before giving up (bounds the work).
_SCAN_LIMIT: Final = 200

#: BCP 47 shape (RFC 5646 §2.1, simplified): a 2 to 3 letter language (or 4 to 8 registered), then
#: subtags of 1 to 8 letters or digits. Private-use ``x-`` and grandfathered tags are refused.
_LANGUAGE: Final = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")
#: A topic is one hashtag: letters, digits and underscores of any script (as Mastodon reads them).
_TOPIC: Final = re.compile(r"^\w+$")
#: AS2 ``units`` to kilometres; AS2 says a ``radius`` without ``units`` is in metres.
_UNIT_KM: Final[Mapping[str, float]] = {
    "km": 1.0,
    "m": 0.001,
    "cm": 0.00001,
    "miles": 1.609344,
    "feet": 0.0003048,
    "inches": 0.0000254,
}


class InvalidProfileField(MalformedDocument, FieldWordedError):
    """A chapter profile value given as input is unusable; ``field`` names which one, ``detail``
    says why in English, and ``wording``/``params`` let an interface say it in its reader's
    language (``protocol.errors.ChapterhouseError``)."""

    def __init__(self, field: str, detail: str, /, **params: object) -> None:
        super().__init__(field, detail, **params)
        self.detail = detail.format(**params) if params else detail


@dataclass(frozen=True, slots=True)
class Place:
    """A named place, a postal address and/or coordinates (WGS 84 degrees)."""

    name: str | None
    address: str | None
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True, slots=True)
class ChapterProfile:
    """Everything a directory shows about where a chapter is and what it is about."""

    place: Place | None
    radius_km: float | None
    regions: tuple[str, ...]
    languages: tuple[str, ...]
    topics: tuple[str, ...]


EMPTY_PROFILE: Final = ChapterProfile(None, None, (), (), ())


# --- input validation (raises InvalidProfileField) -----------------------------------------


def validate_coordinates(latitude: object, longitude: object) -> tuple[float, float]:
    """Finite WGS 84 degrees: latitude in [-90, 90], longitude in [-180, 180]."""
    lat = _finite("latitude", latitude)
    lon = _finite("longitude", longitude)
    if not -90.0 <= lat <= 90.0:
        raise InvalidProfileField("latitude", N_("{value} is outside -90..90"), value=lat)
    if not -180.0 <= lon <= 180.0:
        raise InvalidProfileField("longitude", N_("{value} is outside -180..180"), value=lon)
    return lat, lon


def parse_coordinates(text: str) -> tuple[float, float]:
    """``"LAT,LON"`` (as the CLI takes it) to validated degrees."""
    parts = text.split(",")
    if len(parts) != 2:
        raise InvalidProfileField("coordinates", N_("expected LAT,LON, got {text!r}"), text=text)
    lat_text, lon_text = (p.strip() for p in parts)
    try:
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        raise InvalidProfileField(
            "coordinates", N_("expected two decimal numbers LAT,LON, got {text!r}"), text=text
        ) from None
    return validate_coordinates(lat, lon)


def validate_radius_km(value: object) -> float:
    """A radius in kilometres: positive and no wider than half the Earth."""
    radius = _finite("radius_km", value)
    if not 0.0 < radius <= MAX_RADIUS_KM:
        raise InvalidProfileField(
            "radius_km", N_("{value} is not in (0, {limit}]"), value=radius, limit=MAX_RADIUS_KM
        )
    return radius


def validate_language(tag: object) -> str:
    """A BCP 47 language tag in canonical case (``pt-br`` → ``pt-BR``, ``sr-latn`` → ``sr-Latn``)."""
    if not isinstance(tag, str):
        raise InvalidProfileField("languages", N_("a language tag must be a string"))
    text = tag.strip().replace("_", "-")
    if len(text) > MAX_LANGUAGE_TAG or not _LANGUAGE.fullmatch(text):
        raise InvalidProfileField(
            "languages",
            N_("{tag!r} is not a BCP 47 language tag (such as en, fr, pt-BR)"),
            tag=tag[:40],
        )
    return canonical_language(text)


def canonical_language(tag: str) -> str:
    """RFC 5646 §2.1.1 case conventions: lower-case language, title-case script, upper region."""
    parts = tag.split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit()):
            out.append(part.upper())
        else:
            out.append(part.lower())
    return "-".join(out)


def normalise_topic(topic: object) -> str:
    """A topic as stored and published: no ``#``, lower case, letters/digits/``_`` only."""
    if not isinstance(topic, str):
        raise InvalidProfileField("topics", N_("a topic must be a string"))
    text = unicodedata.normalize("NFC", topic.strip()).lstrip("#").lower()
    if not text:
        raise InvalidProfileField("topics", N_("a topic cannot be empty"))
    if len(text) > MAX_TOPIC:
        raise InvalidProfileField(
            "topics", N_("a topic is at most {limit} characters"), limit=MAX_TOPIC
        )
    if not _TOPIC.fullmatch(text):
        raise InvalidProfileField(
            "topics",
            N_("{topic!r} may hold only letters, digits and underscores"),
            topic=topic[:60],
        )
    return text


def validate_region(region: object) -> str:
    """A named region (``"Greater Lyon"``): one line of printable text, bounded."""
    text = _line("regions", region, MAX_REGION)
    if not text:
        raise InvalidProfileField("regions", N_("a region cannot be empty"))
    return text


def validate_place_text(field: str, value: object, limit: int) -> str | None:
    """An optional one-line text (place name, address); blank means unset."""
    if value is None:
        return None
    text = _line(field, value, limit)
    return text or None


def checked_profile(
    *,
    place_name: object = None,
    address: object = None,
    latitude: object = None,
    longitude: object = None,
    radius_km: object = None,
    regions: Iterable[object] = (),
    languages: Iterable[object] = (),
    topics: Iterable[object] = (),
) -> ChapterProfile:
    """A profile from untrusted input, every value validated (first problem raised)."""
    name = validate_place_text("place_name", place_name, MAX_PLACE_NAME)
    addr = validate_place_text("address", address, MAX_ADDRESS)
    lat: float | None = None
    lon: float | None = None
    if (latitude is None) != (longitude is None):
        raise InvalidProfileField("coordinates", N_("give both latitude and longitude, or neither"))
    if latitude is not None:
        lat, lon = validate_coordinates(latitude, longitude)
    radius = None if radius_km is None else validate_radius_km(radius_km)
    place = None if name is None and addr is None and lat is None else Place(name, addr, lat, lon)
    return ChapterProfile(
        place=place,
        radius_km=radius,
        regions=_bounded("regions", (validate_region(r) for r in regions), MAX_REGIONS),
        languages=_bounded("languages", (validate_language(x) for x in languages), MAX_LANGUAGES),
        topics=_bounded("topics", (normalise_topic(t) for t in topics), MAX_TOPICS),
    )


# --- publishing ------------------------------------------------------------------------------


def topic_href(topic: str, *, tag_base: str) -> str:
    """Where a topic's hashtag points: ``{tag_base}/{topic}``."""
    return f"{tag_base.rstrip('/')}/{topic}"


def profile_fields(profile: ChapterProfile, *, tag_base: str) -> dict[str, object]:
    """The fields to merge into our ``Group`` document; an unset part adds no field."""
    fields: dict[str, object] = {}
    place = profile.place
    if place is not None or profile.radius_km is not None:
        location: dict[str, object] = {"type": "Place"}
        if place is not None and place.name is not None:
            location["name"] = place.name
        if place is not None and place.address is not None:
            # Mobilizon reads ``address`` as an object (a bare string breaks its reader).
            location["address"] = {"type": "PostalAddress", "streetAddress": place.address}
        if place is not None and place.latitude is not None and place.longitude is not None:
            location["latitude"] = float(place.latitude)
            location["longitude"] = float(place.longitude)
        if profile.radius_km is not None:
            location["radius"] = float(profile.radius_km)
            location["units"] = "km"
        fields["location"] = location
    if profile.topics:
        fields["tag"] = [
            {"type": "Hashtag", "href": topic_href(t, tag_base=tag_base), "name": f"#{t}"}
            for t in profile.topics
        ]
    if profile.languages:
        fields["knowsLanguage"] = list(profile.languages)
    if profile.regions:
        fields["areaServed"] = list(profile.regions)
    return fields


# --- reading a remote actor (tolerant) -------------------------------------------------------


def parse_chapter_profile(doc: Mapping[str, object]) -> ChapterProfile:
    """The profile in an actor document (ours, Mobilizon's, anyone's); never raises.

    Missing parts are ``None`` or empty; a malformed value is dropped on its own (coordinates
    drop as a pair), and lists are cut to the same caps as our input."""
    place, radius = _read_location(doc.get("location"))
    topics = _collect(_tag_names(doc.get("tag")), normalise_topic, MAX_TOPICS)
    languages = _collect(_texts(doc.get("knowsLanguage")), validate_language, MAX_LANGUAGES)
    regions = _collect(_texts(doc.get("areaServed")), validate_region, MAX_REGIONS)
    return ChapterProfile(place, radius, regions, languages, topics)


def _read_location(value: object) -> tuple[Place | None, float | None]:
    for item in as_list(value)[:_SCAN_LIMIT]:
        if isinstance(item, Mapping) and _is_place(item):
            return _read_place(item)
    return None, None


def _is_place(item: Mapping[str, object]) -> bool:
    kinds = as_list(item.get("type"))
    return not kinds or "Place" in kinds


def _read_place(item: Mapping[str, object]) -> tuple[Place | None, float | None]:
    name = _quiet_text(item.get("name"), MAX_PLACE_NAME)
    address = _read_address(item.get("address"))
    lat: float | None = None
    lon: float | None = None
    with contextlib.suppress(InvalidProfileField):
        lat, lon = validate_coordinates(
            _number(item.get("latitude")), _number(item.get("longitude"))
        )
    radius: float | None = None
    raw_radius = _number(item.get("radius"))
    units = item.get("units", "m")
    factor = _UNIT_KM.get(units) if isinstance(units, str) else None
    if raw_radius is not None and factor is not None:
        try:
            radius = validate_radius_km(raw_radius * factor)
        except InvalidProfileField:
            radius = None
    if name is None and address is None and lat is None:
        return None, radius
    return Place(name, address, lat, lon), radius


def _read_address(value: object) -> str | None:
    if isinstance(value, str):
        return _quiet_text(value, MAX_ADDRESS)
    if isinstance(value, Mapping):
        keys = ("streetAddress", "postalCode", "addressLocality", "addressRegion", "addressCountry")
        parts = [p for p in (_quiet_text(value.get(k), MAX_ADDRESS) for k in keys) if p]
        return _quiet_text(", ".join(parts), MAX_ADDRESS) if parts else None
    return None


def _tag_names(value: object) -> Iterable[object]:
    for item in as_list(value)[:_SCAN_LIMIT]:
        if isinstance(item, Mapping) and "Hashtag" in as_list(item.get("type")):
            yield item.get("name")


def _texts(value: object) -> Iterable[object]:
    """Strings, or schema.org objects carrying one (``name``, ``identifier``, ``alternateName``)."""
    for item in as_list(value)[:_SCAN_LIMIT]:
        if isinstance(item, Mapping):
            for key in ("identifier", "alternateName", "name"):
                if isinstance(item.get(key), str):
                    yield item[key]
                    break
        else:
            yield item


def _collect(
    values: Iterable[object], check: Callable[[object], str], limit: int
) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        try:
            item = check(value)
        except InvalidProfileField:
            continue
        if item not in out:
            out.append(item)
            if len(out) == limit:
                break
    return tuple(out)


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and len(value) <= 32:
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _quiet_text(value: object, limit: int) -> str | None:
    if not isinstance(value, str) or len(value) > limit * 4:
        return None
    try:
        return _line("text", value, limit) or None
    except InvalidProfileField:
        return None


def _finite(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidProfileField(field, N_("must be a number"))
    number = float(value)
    if not math.isfinite(number):
        raise InvalidProfileField(field, N_("must be a finite number"))
    return number


def _line(field: str, value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidProfileField(field, N_("must be text"))
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if len(text) > limit:
        raise InvalidProfileField(field, N_("is at most {limit} characters"), limit=limit)
    if any(unicodedata.category(ch)[0] == "C" for ch in text):
        raise InvalidProfileField(field, N_("may not contain control characters"))
    return text


def _bounded(field: str, values: Iterable[str], limit: int) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        if value not in out:
            out.append(value)
    if len(out) > limit:
        raise InvalidProfileField(field, N_("at most {limit} entries"), limit=limit)
    return tuple(out)
