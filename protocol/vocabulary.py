"""Reading ``type`` from untrusted documents: ActivityStreams allows one type or several.

``"type": "Event"``, ``"type": ["Event"]`` and ``"type": ["Event", "Note"]`` are all valid AS2, so
every rule keyed on a type asks whether that type is *among* the document's types. Comparing
``doc.get("type")`` with a string lets a list slip past the rule (``["Event"]`` is not
``"Event"``), and using it as a set member crashes on a list (unhashable). Read types only
through these helpers.

Members that are not strings are ignored (they name no type we know). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

TYPE_KEY = "type"


def _values(doc: object, key: str) -> list[str]:
    """The string values of ``doc[key]`` in document order (one value or a list of them)."""
    if not isinstance(doc, dict | Mapping):  # dict first: no ABC check for the usual case
        return []
    value = doc.get(key)
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v]
    return []


def types_of(doc: object, key: str = TYPE_KEY) -> frozenset[str]:
    """Every type ``doc`` declares (empty when it declares none, or is not an object).

    ``key`` reads another type-valued property the same way (``formerType`` of a Tombstone).
    """
    return frozenset(_values(doc, key))


def has_type(doc: object, name: str, key: str = TYPE_KEY) -> bool:
    """Whether ``name`` is among the types ``doc`` declares."""
    if not isinstance(doc, dict | Mapping):
        return False
    value = doc.get(key)
    if isinstance(value, str):
        return value == name
    if isinstance(value, list):
        return name in value  # non-string members compare unequal
    return False


def first_type(doc: object) -> str | None:
    """The first type ``doc`` declares (what logs and ``.type`` fields show), or ``None``."""
    values = _values(doc, TYPE_KEY)
    return values[0] if values else None


def primary_type(doc: object, known: Collection[str]) -> str | None:
    """The first declared type that is one of ``known`` (the one a parser acts on), or ``None``."""
    return next((t for t in _values(doc, TYPE_KEY) if t in known), None)


def known_types(doc: object, known: Collection[str]) -> list[str]:
    """The declared types that are in ``known``, in document order, each once."""
    found: list[str] = []
    for kind in _values(doc, TYPE_KEY):
        if kind in known and kind not in found:
            found.append(kind)
    return found
