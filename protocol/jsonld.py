"""JSON-LD constants and helpers for the compacted form we read and write.

Nodes never expand JSON-LD at runtime (DESIGN.md §2): they read known terms of the
compacted form. Only the three context URLs that common implementations ship preloaded are
referenced; every other term is defined inline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

AS_CONTEXT: Final = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT: Final = "https://w3id.org/security/v1"
DATA_INTEGRITY_CONTEXT: Final = "https://w3id.org/security/data-integrity/v1"
CHAPTERHOUSE_NS: Final = "https://w3id.org/chapterhouse#"
PUBLIC: Final = "https://www.w3.org/ns/activitystreams#Public"
PUBLIC_ALIASES: Final = frozenset({PUBLIC, "as:Public", "Public"})

ACTIVITY_JSON: Final = "application/activity+json"

#: Terms we reuse from Mobilizon, schema.org, iCal, FEP-8a8e and our own namespace.
INLINE_TERMS: Final[Mapping[str, object]] = {
    "chapterhouse": CHAPTERHOUSE_NS,
    "mz": "https://joinmobilizon.org/ns#",
    "sc": "http://schema.org#",
    "ical": "http://www.w3.org/2002/12/cal/ical#",
    "toot": "http://joinmastodon.org/ns#",
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "discoverable": "toot:discoverable",
    "movedTo": {"@id": "as:movedTo", "@type": "@id"},
    "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
    "joinMode": {"@id": "mz:joinMode", "@type": "mz:joinModeType"},
    "participantCount": {"@id": "mz:participantCount", "@type": "sc:Integer"},
    "timezone": {"@id": "mz:timezone", "@type": "sc:Text"},
    "isOnline": {"@id": "mz:isOnline", "@type": "sc:Boolean"},
    "externalParticipationUrl": {"@id": "mz:externalParticipationUrl", "@type": "sc:URL"},
    "anonymousParticipationEnabled": {
        "@id": "mz:anonymousParticipationEnabled",
        "@type": "sc:Boolean",
    },
    "maximumAttendeeCapacity": "sc:maximumAttendeeCapacity",
    "remainingAttendeeCapacity": "sc:remainingAttendeeCapacity",
    "category": "sc:category",
    "PostalAddress": "sc:PostalAddress",
    "address": {"@id": "sc:address", "@type": "sc:PostalAddress"},
    "addressCountry": "sc:addressCountry",
    "addressLocality": "sc:addressLocality",
    "addressRegion": "sc:addressRegion",
    "postalCode": "sc:postalCode",
    "streetAddress": "sc:streetAddress",
    "ical:status": {"@id": "ical:status"},
    "Hashtag": "as:Hashtag",
    "knowsLanguage": "sc:knowsLanguage",
    "areaServed": "sc:areaServed",
}

CONTEXT: Final[list[object]] = [
    AS_CONTEXT,
    SECURITY_CONTEXT,
    DATA_INTEGRITY_CONTEXT,
    dict(INLINE_TERMS),
]


def context_document() -> dict[str, object]:
    """The document served at ``/ns``: our inline terms as a standalone context."""
    return {"@context": dict(INLINE_TERMS)}


def as_list(value: object) -> list[object]:
    """AS2 allows a single value or an array for most properties: always get a list."""
    if value is None:
        return []
    if isinstance(value, list):
        return list(value)
    return [value]


def id_of(value: object) -> str | None:
    """The IRI of a value that is either an IRI string or an embedded object with ``id``."""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, Mapping)):  # dict first: no ABC check for the usual case
        ident = value.get("id")
        if isinstance(ident, str):
            return ident
    return None


def is_public(value: object) -> bool:
    """Whether an addressing list names the public collection in any of its spellings."""
    return any(isinstance(v, str) and v in PUBLIC_ALIASES for v in as_list(value))
