"""A refusal's data on a page: numbers and times written the reader's way, times in the call's
zone (``node/interfaces/web/localise.py`` ``written``), through the real catalogue."""

from __future__ import annotations

from datetime import UTC, datetime

from babel import Locale

from node.features.calls.checkin_code import CheckinClosed
from node.interfaces.web.language import ENGLISH, PageLanguage
from node.interfaces.web.words import said
from node.runtime.i18n import Catalogues
from protocol.errors import N_, WordedError
from protocol.localtime import Moment

OPENS = Moment(datetime(2027, 7, 12, 9, 30, tzinfo=UTC), "Europe/Paris")


def german() -> PageLanguage:
    return PageLanguage("de", Catalogues().translations("de", "pages"), Locale("de"))


def test_a_time_in_a_refusal_is_written_in_german_in_the_calls_zone() -> None:
    error = CheckinClosed(N_("check-in opens at {opens}, 30 minutes before the start"), opens=OPENS)
    shown = said(german(), error)
    assert "11:30" in shown and "(Europe/Paris)" in shown  # 09:30 UTC is 11:30 in Paris
    assert "Juli" in shown or "Jul." in shown  # the month in German
    assert "check-in opens" not in shown and "2027-07-12T" not in shown


def test_english_pages_say_the_time_as_the_node_always_wrote_it() -> None:
    error = CheckinClosed(N_("check-in opens at {opens}, 30 minutes before the start"), opens=OPENS)
    assert said(ENGLISH, error) == (
        "check-in opens at Mon 12 Jul 2027 11:30 (Europe/Paris), 30 minutes before the start"
    )


def test_a_number_in_a_refusal_has_the_languages_separators() -> None:
    error = WordedError(N_("at most {limit} people at once"), limit=15000)
    assert "15.000" in said(german(), error)
    assert said(ENGLISH, error) == "at most 15000 people at once"  # English pages: no grouping
