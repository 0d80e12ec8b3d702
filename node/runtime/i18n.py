"""Languages: which one a person gets, and the gettext catalogues that speak it.

Catalogues are the ``.po`` files under ``node/locale/<lang>/LC_MESSAGES/<domain>.po``, managed
with Babel (``make messages`` extracts and updates them). They are compiled in memory when first
asked for, so a checkout or an installed wheel needs no build step and a ``.po`` edit shows at the
next start. Two domains keep the two audiences' words apart:

- ``pages``: the web pages (templates and the words the page modules put in them);
- ``messages``: e-mails and the CLI.

The language is chosen, in order: the person's own setting, then the browser's
``Accept-Language``, then the node's ``default_language``; only a shipped language is ever chosen.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Final

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

#: The languages this node ships complete catalogues for; English is the source language.
SHIPPED: Final = ("en", "es", "fr", "de")
SOURCE: Final = "en"
DOMAINS: Final = ("pages", "messages")
LOCALE_DIR: Final = Path(__file__).resolve().parent.parent / "locale"
#: Longest ``Accept-Language`` value read (the header is the client's to choose).
MAX_ACCEPT_LANGUAGE: Final = 512


def shipped(tag: str | None) -> str | None:
    """The shipped language a BCP 47 tag asks for (``fr-CA`` → ``fr``), or None."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in SHIPPED else None


def accept_language(header: str | None) -> list[str]:
    """The tags of an ``Accept-Language`` header, most wanted first (RFC 9110 §12.5.4);
    ``q=0`` and malformed entries left out, ties kept in the header's order."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:MAX_ACCEPT_LANGUAGE].split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or len(tag) > 35:
            continue
        q = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value)
            except ValueError:
                continue
        if 0 < q <= 1:
            weighted.append((-q, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def choose_language(
    setting: str | None, accept: str | None, default: str, *, asked: str | None = None
) -> str:
    """The language to answer in: ``asked`` (an explicit switch, e.g. ``?lang=``), then the
    person's ``setting``, then the browser's ``accept`` header, then ``default``."""
    for candidate in (asked, setting, *accept_language(accept), default):
        chosen = shipped(candidate)
        if chosen is not None:
            return chosen
    return SOURCE


def language_name(code: str) -> str:
    """A language's own name for itself (``Deutsch``, ``español``), for the switcher."""
    try:
        return Locale.parse(code).get_display_name(code) or code
    except (ValueError, UnknownLocaleError):
        return code


class Catalogues:
    """The compiled catalogues, one per language and domain, compiled once when first used.
    One is held by ``Services`` (and one by a CLI run); nothing is kept at module level."""

    def __init__(self, directory: Path = LOCALE_DIR) -> None:
        self._directory = directory
        self._loaded: dict[tuple[str, str], NullTranslations] = {}

    def translations(self, language: str, domain: str = "pages") -> NullTranslations:
        """gettext for ``language`` (a shipped one; anything else gets the source words)."""
        key = (shipped(language) or SOURCE, domain)
        found = self._loaded.get(key)
        if found is None:
            found = self._compile(*key)
            self._loaded[key] = found
        return found

    def _compile(self, language: str, domain: str) -> NullTranslations:
        path = self._directory / language / "LC_MESSAGES" / f"{domain}.po"
        if language == SOURCE or not path.is_file():
            return NullTranslations()
        with path.open("rb") as po:
            catalog = read_po(po, locale=language, domain=domain)
        compiled = io.BytesIO()
        write_mo(compiled, catalog, use_fuzzy=False)
        compiled.seek(0)
        return Translations(compiled, domain=domain)
