"""Reading the gettext catalogues in tests: the template of a domain, and what a language's
``.po`` lacks against it (both domains' completeness tests ask the same questions)."""

from __future__ import annotations

import re

from babel.messages.catalog import Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from node.runtime.i18n import LOCALE_DIR
from tests.rig.nodes import REPO


def template(domain: str) -> list[Message]:
    """Every message of ``node/locale/DOMAIN.pot`` (the header left out)."""
    with (LOCALE_DIR / f"{domain}.pot").open("rb") as pot:
        return [m for m in read_po(pot) if m.id]


def marked(domain: str) -> set[str]:
    """Every msgid the code marks for ``domain`` now, found the way ``make messages`` finds it
    (``babel-DOMAIN.cfg``, keywords ``_``, ``gettext``, ``ngettext``, ``N_``)."""
    with (REPO / f"babel-{domain}.cfg").open(encoding="utf-8") as cfg:
        method_map, options = parse_mapping_cfg(cfg)
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    return {
        msgid if isinstance(msgid, str) else msgid[0]
        for _, _, msgid, _, _ in extract_from_dir(str(REPO), method_map, options, keywords=keywords)
    }


def unlisted(domain: str) -> list[str]:
    """What the code marks for ``domain`` that its template lacks (``make messages`` not run
    since): those words show in English in every language."""
    held = {m.id if isinstance(m.id, str) else m.id[0] for m in template(domain)}
    return sorted(marked(domain) - held)


def _forms(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


def catalogue_problems(domain: str, language: str, placeholder: re.Pattern[str]) -> list[str]:
    """What ``language``'s catalogue of ``domain`` lacks: messages missing, fuzzy, untranslated
    (every plural form wanted), or whose placeholders differ. A plural form may say "one" in
    words instead of its number's placeholder; nothing else may differ."""
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    problems = []
    for message in template(domain):
        found = catalog.get(message.id)
        if found is None:
            problems.append(f"missing: {message.id!r}")
            continue
        if found.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        forms = _forms(found.string)
        wanted_count = catalog.num_plurals if message.pluralizable else 1
        if not all(forms) or len(forms) != wanted_count:
            problems.append(f"untranslated: {message.id!r}")
            continue
        wanted = sorted(placeholder.findall(_forms(message.id)[-1]))
        for form in forms:
            got = sorted(placeholder.findall(form))
            if got != wanted and not (message.pluralizable and set(got) <= set(wanted)):
                problems.append(f"placeholders differ: {message.id!r} → {form!r}")
    return problems
