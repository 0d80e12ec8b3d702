"""Counts agree with their nouns and amounts read as people write them (protocol/wording.py):
the pages and the rollup's sentence say "1 follower", "Together, 1 chapter" and "100 people",
never "1 followers" or "100.0 people participants"."""

from __future__ import annotations

from decimal import Decimal

import pytest

from protocol.wording import measure_text, number_text, plural


@pytest.mark.parametrize(
    ("count", "noun", "text"),
    [
        (0, "follower", "0 followers"),
        (1, "follower", "1 follower"),
        (2, "follower", "2 followers"),
        (1, "chapter", "1 chapter"),
        (3, "chapter", "3 chapters"),
        (1, "person", "1 person"),
        (15, "person", "15 people"),
        (2, "city", "2 cities"),
        (2, "day", "2 days"),
        (2, "match", "2 matches"),
        (1.0, "report", "1 report"),
    ],
)
def test_a_count_agrees_with_its_noun(count, noun, text):
    assert plural(count, noun) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (100.0, "100"),
        (100, "100"),
        (64.25, "64.25"),
        (Decimal("190.750"), "190.75"),
        (Decimal("1E+3"), "1000"),
        (0.1, "0.1"),
        (1e21, "1000000000000000000000"),
    ],
)
def test_numbers_have_no_needless_decimals_or_exponents(value, text):
    assert number_text(value) == text


@pytest.mark.parametrize(
    ("amount", "unit", "metric", "text"),
    [
        (100.0, "people", "participants", "100 people"),
        (300, "kg", "kg_litter", "300 kg litter"),
        (40, "trees", "trees_planted", "40 trees planted"),
        (Decimal("120.5"), "kg", "litter", "120.5 kg litter"),
        (12, "signatures", "signatures", "12 signatures"),
    ],
)
def test_a_measure_says_its_metric_once(amount, unit, metric, text):
    assert measure_text(amount, unit, metric) == text
