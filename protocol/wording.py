"""Counts and amounts in words people read: "1 follower", "2 followers", "100 people".

Pages, the summaries other servers show and the rollup's own sentence all count things; they
share these few rules so that none of them says "1 chapters" or "100.0 people participants".
English only: the node's pages are in English.
"""

from __future__ import annotations

from decimal import Decimal

#: Words whose plural is not the singular plus "s".
IRREGULAR = {"person": "people", "this": "these", "is": "are", "was": "were", "has": "have"}
#: Metrics that say no more than their unit ("100 people participants" is "100 people").
SAME_AS_UNIT = {("participants", "people"), ("people", "people"), ("attendees", "people")}


def plural_of(word: str) -> str:
    """The plural of an English noun, for the few shapes a node's pages use."""
    if word in IRREGULAR:
        return IRREGULAR[word]
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in {"a", "e", "i", "o", "u"}:
        return word[:-1] + "ies"
    return word + "s"


def plural(count: int | float | Decimal, singular: str, many: str | None = None) -> str:
    """``1 follower``, ``0 followers``, ``2 chapters``: the count and the noun agreeing."""
    shown = number_text(count)
    word = singular if count == 1 else (many or plural_of(singular))
    return f"{shown} {word}"


def number_text(value: int | float | Decimal) -> str:
    """A number as people write it: ``100`` (not ``100.0``), ``64.25``, no exponent."""
    if isinstance(value, bool):
        return str(int(value))
    exact = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if exact.is_finite() and exact == exact.to_integral_value():
        return format(exact.to_integral_value(), "f")
    return format(exact.normalize(), "f")


def measure_text(amount: int | float | Decimal, unit: str, metric: str) -> str:
    """``100 people`` (participants), ``300 kg litter`` (kg_litter), ``40 trees planted``:
    the amount with its unit, and the metric's words the unit does not already say."""
    words = [w for w in metric.replace("_", " ").split() if w.lower() != unit.lower()]
    if (metric.lower(), unit.lower()) in SAME_AS_UNIT:
        words = []
    return " ".join([number_text(amount), unit, *words])
