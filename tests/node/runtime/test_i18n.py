"""Choosing a language, and the ``pages`` catalogue: complete in every shipped language, in step
with what the templates and page modules mark, and compiled without its fuzzy entries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from node.runtime.i18n import (
    SHIPPED,
    SOURCE,
    Catalogues,
    accept_language,
    choose_language,
    language_name,
    shipped,
)
from tests.rig.catalogues import catalogue_problems, unlisted

TRANSLATED = [language for language in SHIPPED if language != SOURCE]
PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|%[sdr]")


def test_accept_language_orders_by_quality_and_keeps_ties_in_order():
    header = "de;q=0.5, fr-CA, es;q=0.9, en;q=0, pt;q=x, it;q=0.9"
    assert accept_language(header) == ["fr-CA", "es", "it", "de"]
    assert accept_language(None) == [] and accept_language("") == []
    assert accept_language("x" * 10_000) == []  # one overlong tag: nothing usable


def test_choose_language_asked_then_setting_then_browser_then_default():
    assert choose_language("de", "fr", "es", asked="en") == "en"  # an explicit switch
    assert choose_language("de", "fr", "es") == "de"  # the person's own setting
    assert choose_language(None, "pt-BR, fr-CA;q=0.9", "es") == "fr"  # first shipped one
    assert choose_language("xx", "pt", "es") == "es"  # the node's default
    assert choose_language(None, None, "zz") == SOURCE
    assert shipped("de_AT") == "de" and shipped("DE") == "de" and shipped("pt") is None


def test_language_names_are_their_own():
    assert [language_name(code) for code in SHIPPED] == [
        "English",
        "español",
        "français",
        "Deutsch",
    ]


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_page_word_is_translated_with_its_placeholders(language):
    problems = catalogue_problems("pages", language, PLACEHOLDER)
    assert not problems, "\n".join(problems)


def test_the_pages_template_holds_what_the_pages_mark():
    """``make messages`` extracts with ``babel-pages.cfg``; a word marked since (a new page, a
    new flash) is in no catalogue until it is run again, and shows in English."""
    missing = unlisted("pages")
    assert not missing, f"run `make messages`: not in pages.pot: {missing}"


def test_catalogues_compile_in_memory_and_leave_fuzzy_entries_out(tmp_path: Path):
    catalog = Catalog(locale="fr", domain="pages")
    catalog.add("Sign in", "Se connecter")
    catalog.add("Sign out", "Se déconnecter (à revoir)", flags=["fuzzy"])
    catalog.add(
        ("%(num)s follower", "%(num)s followers"), ("%(num)s abonné", "x", "%(num)s abonnés")
    )
    (tmp_path / "fr" / "LC_MESSAGES").mkdir(parents=True)
    with (tmp_path / "fr" / "LC_MESSAGES" / "pages.po").open("wb") as po:
        write_po(po, catalog)
    catalogues = Catalogues(tmp_path)
    french = catalogues.translations("fr-CA")
    assert french.gettext("Sign in") == "Se connecter"
    assert french.gettext("Sign out") == "Sign out"  # a fuzzy guess is never shown
    assert french.ngettext("%(num)s follower", "%(num)s followers", 0) == "%(num)s abonné"
    assert french.ngettext("%(num)s follower", "%(num)s followers", 2) == "%(num)s abonnés"
    assert catalogues.translations("fr") is french  # compiled once
    assert catalogues.translations("xx").gettext("Sign in") == "Sign in"  # English


def test_the_shipped_catalogues_speak_their_language():
    catalogues = Catalogues()
    assert catalogues.translations("es").gettext("Sign in") == "Entrar"
    assert catalogues.translations("de").gettext("Sign in") == "Anmelden"
    french = catalogues.translations("fr")
    assert french.ngettext("%(num)s follower", "%(num)s followers", 1) == "%(num)s abonné·e"
    assert french.ngettext("%(num)s follower", "%(num)s followers", 0) == "%(num)s abonné·e"
    assert french.ngettext("%(num)s follower", "%(num)s followers", 5) == "%(num)s abonné·es"
