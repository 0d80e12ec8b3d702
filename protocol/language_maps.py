"""Text in several languages: AS2 ``nameMap``/``contentMap``, and choosing what a reader sees.

A call is written in one language (its ``name`` and ``content``) and may carry translations.
AS2 gives each natural-language property a ``…Map`` twin keyed by BCP 47 tags; Mastodon takes a
post's language from the first key of ``contentMap``, so ours always lists the call's own
language first, with the same text as ``name``/``content`` (which stay, for readers that know
no maps).

Reading a peer's maps is tolerant: entries with a bad tag, a non-string or an absurd length are
dropped, and at most :data:`MAX_LANGUAGES` are kept. Choosing for a reader follows RFC 4647
lookup, simplified: an exact tag first, then the same primary language (``fr-CA`` reads ``fr``),
in the reader's order of preference.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from protocol.chapter_profile import InvalidProfileField, validate_language

#: How many languages one text may carry (its own and translations).
MAX_LANGUAGES: Final = 20
#: At most this many ``Accept-Language`` entries are read.
_MAX_PREFERENCES: Final = 16


def language_tag(value: object) -> str | None:
    """``value`` as a canonical BCP 47 tag, or None if it is not one."""
    try:
        return validate_language(value)
    except InvalidProfileField:
        return None


def read_map(value: object, *, limit: int) -> dict[str, str]:
    """A peer's ``nameMap``/``contentMap``: valid tags to strings of at most ``limit`` chars."""
    out: dict[str, str] = {}
    if not isinstance(value, Mapping):
        return out
    for key, text in list(value.items())[: MAX_LANGUAGES * 4]:
        tag = language_tag(key)
        if tag is None or not isinstance(text, str) or len(text) > limit or tag in out:
            continue
        out[tag] = text
        if len(out) == MAX_LANGUAGES:
            break
    return out


def original_language(*maps_and_texts: tuple[Mapping[str, str], str | None]) -> str | None:
    """The language a text was written in: the key whose entry is the plain property's text
    (``name`` in ``nameMap``), else the first key of the first non-empty map (Mastodon's rule)."""
    for values, text in maps_and_texts:
        for tag, entry in values.items():
            if text is not None and entry == text:
                return tag
    for values, _ in maps_and_texts:
        for tag in values:
            return tag
    return None


def build_map(language: str, text: str, translations: Mapping[str, str]) -> dict[str, str]:
    """``{language: text, **translations}``: the call's own language first (Mastodon reads it)."""
    return {language: text, **{k: v for k, v in translations.items() if k != language}}


def parse_accept_language(header: str | None) -> list[str]:
    """The tags of an ``Accept-Language`` header, most wanted first (``*`` and q=0 dropped)."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:_MAX_PREFERENCES]):
        piece, _, params = part.strip().partition(";")
        weight = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                weight = float(params[2:])
            except ValueError:
                continue
        tag = language_tag(piece.strip())
        if tag is not None and weight > 0:
            ranked.append((-weight, index, tag))
    return [tag for _, _, tag in sorted(ranked)]


def best_language(available: Iterable[str], preferred: Sequence[str]) -> str | None:
    """The available tag the reader wants most: exact match first, then the same primary
    language (either way round: ``fr-CA`` reads ``fr``, ``fr`` reads ``fr-BE``); None if none."""
    have = list(available)
    lowered = {tag.lower(): tag for tag in have}
    for wanted in preferred:
        exact = lowered.get(wanted.lower())
        if exact is not None:
            return exact
        primary = wanted.split("-")[0].lower()
        for tag in have:
            if tag.split("-")[0].lower() == primary:
                return tag
    return None
