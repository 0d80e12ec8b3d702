"""A pseudo-locale built at test time from a domain's template: every msgid comes back marked
``⟦…⟧``, so anything shown that is not inside a marker was never looked up in the catalogue
(an untranslated string). ``leftover_words`` says which words are left once the markers, the
data and the placeholders are taken out.

It is written as the ``fr`` catalogue of a temporary locale directory (``Catalogues`` only
serves shipped languages), so French plural rules apply and dates are French."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from node.runtime.i18n import LOCALE_DIR, Catalogues

PSEUDO_AS = "fr"
_INNERMOST = re.compile(r"⟦[^⟦⟧]*⟧")
_WORD = re.compile(r"[A-Za-z][A-Za-z']+")


def _mark(text: str) -> str:
    core = text.strip()
    if not core:
        return text
    head = text[: len(text) - len(text.lstrip())]
    tail = text[len(text.rstrip()) :]
    return f"{head}⟦{core}⟧{tail}"


def pseudo_catalogues(directory: Path, domain: str = "messages") -> Catalogues:
    """``Catalogues`` whose ``fr`` ``domain`` marks every msgid of ``node/locale/<domain>.pot``."""
    with (LOCALE_DIR / f"{domain}.pot").open("rb") as pot:
        template = read_po(pot)
    catalog = Catalog(locale=PSEUDO_AS, domain=domain, fuzzy=False)
    for message in template:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            catalog.add(message.id, tuple(_mark(form) for form in message.id))
        else:
            catalog.add(message.id, _mark(message.id))
    target = directory / PSEUDO_AS / "LC_MESSAGES" / f"{domain}.po"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as po:
        write_po(po, catalog)
    return Catalogues(directory)


def unmarked(text: str) -> str:
    """``text`` with every marked part (nested ones too) taken out."""
    while True:
        stripped = _INNERMOST.sub(" ", text)
        if stripped == text:
            return text
        text = stripped


def leftover_words(text: str, data: Iterable[str] = (), allowed: Iterable[str] = ()) -> list[str]:
    """Words outside the markers that are neither ``data`` (removed as whole strings first) nor
    ``allowed`` (single words: names of commands, options and placeholders)."""
    rest = unmarked(text)
    for value in sorted({d for d in data if d}, key=len, reverse=True):
        rest = rest.replace(value, " ")
    words = set(allowed)
    return [word for word in _WORD.findall(rest) if word not in words]
