from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import ProtocolError, UnitMismatch
from protocol.impact import add_values
from protocol.units import (
    _EXACT,
    _FOLDED,
    _TABLE,
    ISO_4217,
    ROUNDING_PLACES,
    UNITS,
    canonical_unit,
    convert,
    convertible,
    dimension_of,
    is_money,
    to_campaign_units,
)

REGISTERED = sorted(UNITS)
SAME_DIMENSION = [(a, b) for a in REGISTERED for b in REGISTERED if convertible(a, b)]
#: Units whose spelling the registry does not know (each only matches itself).
FREE = (
    st.text(min_size=1, max_size=12)
    .map(str.strip)
    .filter(lambda u: u and canonical_unit(u) not in UNITS and u not in ISO_4217)
)
VALUES = st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False)


def exact(value: Decimal) -> Fraction:
    return Fraction(value)


# --- the registry ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "symbol"),
    [
        ("kg", "kg"),
        ("KG", "kg"),
        ("Kg", "kg"),
        (" kg ", "kg"),
        ("kilograms", "kg"),
        ("persons", "people"),
        ("Person", "people"),
        ("PEOPLE", "people"),
        ("m3", "m³"),
        ("m2", "m²"),
        ("mL", "ml"),
        ("L", "l"),
        ("Litres", "l"),
        ("hours", "h"),
        ("Hrs", "h"),
        ("minutes", "min"),
        ("MIN", "min"),
        ("LBS", "lb"),
        ("Hectares", "ha"),
        ("MILES", "mi"),
        ("EUR", "EUR"),
    ],
)
def test_synonyms_canonicalise(spelling, symbol):
    assert canonical_unit(spelling) == symbol
    assert canonical_unit(symbol) == symbol


@pytest.mark.parametrize(
    "spelling",
    # capitals that mean another unit or an SI prefix, lower-case words that are ISO codes,
    # and names that are ambiguous on purpose
    ["M", "T", "G", "H", "S", "ML", "Ml", "M3", "M²", "eur", "all", "cup", "ton", "pound", "$"],
)
def test_ambiguous_spellings_stay_free_form(spelling):
    assert canonical_unit(spelling) == spelling
    assert dimension_of(spelling) is None
    assert not is_money(spelling)


def test_exact_spelling_wins_over_case_folding():
    assert canonical_unit("KGS") == "KGS"  # the Kyrgyzstani som, not kilograms
    assert dimension_of("KGS") == "money:KGS"


def test_no_spelling_names_two_units():
    exact_spellings = [s for u in _TABLE for s in (u.symbol, *u.exact)]
    folded = [w.casefold() for u in _TABLE for w in u.words]
    assert len(exact_spellings) == len(_EXACT) and len(folded) == len(_FOLDED)
    assert not set(exact_spellings) & ISO_4217
    assert not {w.upper() for w in folded} & ISO_4217
    for u in _TABLE:  # a folded word never hides an exact symbol of another unit
        assert all(_FOLDED.get(s.casefold(), u.symbol) == u.symbol for s in (u.symbol, *u.exact))


def test_dimensions():
    assert dimension_of("g") == dimension_of("lb") == dimension_of("t") == "mass"
    assert dimension_of("mi") == "length"
    assert dimension_of("m3") == dimension_of("l") == "volume"
    assert dimension_of("ha") == "area"
    assert dimension_of("hours") == dimension_of("s") == "time"
    assert dimension_of("persons") == "people"
    assert dimension_of("GBP") == "money:GBP"
    assert dimension_of("bags") is None


def test_iso_4217_codes_are_three_upper_case_letters():
    assert {"EUR", "USD", "GBP", "JPY", "CHF", "XOF"} <= ISO_4217
    assert len(ISO_4217) > 170
    assert all(len(c) == 3 and c.isascii() and c.isalpha() and c.isupper() for c in ISO_4217)


# --- exact conversions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        ("1", "lb", "kg", "0.45359237"),
        ("1", "mi", "m", "1609.344"),
        ("1", "t", "kg", "1000"),
        ("1", "ha", "m²", "10000"),
        ("1", "l", "ml", "1000"),
        ("1", "m3", "L", "1000"),
        ("1", "h", "min", "60"),
        ("90", "min", "hours", "1.5"),
        ("500", "g", "kg", "0.5"),
        ("0.45359237", "kg", "lb", "1"),
        ("1", "kg", "lb", "2.204622621849"),  # non-terminating: rounded half-even
        ("1", "s", "h", "0.000277777778"),
    ],
)
def test_known_factors(value, source, target, expected):
    assert convert(Decimal(value), source, target) == Decimal(expected)


def test_grams_and_kilograms_add_up_exactly():
    total = convert(Decimal(500), "g", "kg") + convert(Decimal("0.07"), "kg", "kg")
    assert total == Decimal("0.57")
    assert str(total) == "0.57"


def test_same_unit_returns_the_value_itself():
    value = Decimal("120.50")
    assert convert(value, "KG", "kg") is value
    assert convert(value, "bags", "bags") is value
    assert convert(value, "EUR", "EUR") is value


@given(st.sampled_from(SAME_DIMENSION), VALUES)
def test_conversion_is_exact_or_rounded_to_the_stated_places(pair, value):
    source, target = pair
    result = convert(value, source, target)
    true = exact(value) * exact(UNITS[source].factor) / exact(UNITS[target].factor)
    if exact(result) != true:
        assert result.as_tuple().exponent == -ROUNDING_PLACES
        assert abs(exact(result) - true) <= Fraction(1, 2 * 10**ROUNDING_PLACES)


@given(VALUES)
def test_powers_of_ten_round_trip_exactly(value):
    for small, large in [("g", "kg"), ("kg", "t"), ("ml", "l"), ("l", "m³"), ("m", "km")]:
        assert convert(convert(value, large, small), small, large) == value
        assert convert(convert(value, small, large), large, small) == value


@given(st.lists(VALUES, min_size=1, max_size=20), st.lists(VALUES, max_size=20))
def test_grams_and_kilograms_sum_exactly(grams, kilos):
    total = sum((convert(g, "g", "kg") for g in grams), Decimal(0)) + sum(kilos, Decimal(0))
    assert exact(total) == sum(map(exact, grams)) / 1000 + sum(map(exact, kilos))


@given(
    st.lists(st.tuples(VALUES, st.sampled_from(["g", "kg", "t", "lb"])), max_size=30),
    st.sampled_from(["kg", "g", "lb", "t"]),
    st.randoms(use_true_random=False),
)
def test_adding_then_subtracting_converted_values_leaves_totals_unchanged(items, unit, rnd):
    start = Decimal("1234.5678")
    totals = {("waste", unit): start}
    converted = [convert(v, u, unit) for v, u in items]
    for amount in converted:
        add_values(totals, {("waste", unit): amount})
    rnd.shuffle(converted)
    for amount in converted:
        add_values(totals, {("waste", unit): amount}, -1)
    assert totals == {("waste", unit): start}


# --- what never converts ---------------------------------------------------------------------


@given(st.sampled_from(sorted(ISO_4217)), st.sampled_from(sorted(ISO_4217)), VALUES)
def test_money_never_converts(a, b, value):
    assert is_money(a)
    assert convertible(a, b) == (a == b)
    if a != b:
        with pytest.raises(UnitMismatch):
            convert(value, a, b)
    for other in ("kg", "people", "bags", a.lower()):
        assert not convertible(a, other)
        with pytest.raises(UnitMismatch):
            convert(value, a, other)


@given(FREE, VALUES)
def test_free_form_units_only_match_themselves(unit, value):
    assert dimension_of(unit) is None
    assert convertible(unit, unit)
    assert convert(value, unit, unit) == value
    for other in {unit.upper(), unit.lower(), unit + "s", "kg", "people", "EUR"} - {unit}:
        assert not convertible(unit, other)
        with pytest.raises(UnitMismatch):
            convert(value, unit, other)


@pytest.mark.parametrize(
    ("source", "target"),
    [("kg", "m"), ("l", "kg"), ("m²", "m³"), ("h", "people"), ("kg", "bags"), ("EUR", "USD")],
)
def test_inconvertible_pairs_are_refused(source, target):
    assert not convertible(source, target)
    with pytest.raises(UnitMismatch) as caught:
        convert(Decimal(1), source, target)
    assert isinstance(caught.value, ProtocolError)
    assert (caught.value.from_unit, caught.value.to_unit) == (source, target)


# --- the aggregation helper ---------------------------------------------------------------------


def test_to_campaign_units_converts_merges_and_lists_the_rest():
    values = {
        ("litter", "g"): Decimal(500),
        ("litter", "kg"): Decimal("0.07"),
        ("litter", "bags"): Decimal(3),
        ("participants", "persons"): Decimal(12),
        ("donations", "EUR"): Decimal(40),
        ("donations", "USD"): Decimal(10),
        ("trees", "trees"): Decimal(7),
    }
    units = {"litter": "KG", "participants": "people", "donations": "EUR"}
    converted, refused = to_campaign_units(values, units)
    assert converted == {
        ("litter", "kg"): Decimal("0.57"),
        ("participants", "people"): Decimal(12),
        ("donations", "EUR"): Decimal(40),
        ("trees", "trees"): Decimal(7),
    }
    assert refused == [("litter", "bags"), ("donations", "USD")]


def test_to_campaign_units_keeps_unchosen_metrics_in_their_canonical_unit():
    converted, refused = to_campaign_units({("water", "m3"): Decimal(2)}, {})
    assert converted == {("water", "m³"): Decimal(2)}
    assert refused == []


@given(st.dictionaries(st.sampled_from(["g", "kg", "t", "lb"]), VALUES, max_size=4))
def test_to_campaign_units_sums_exactly(by_unit):
    converted, refused = to_campaign_units({("w", u): v for u, v in by_unit.items()}, {"w": "kg"})
    assert refused == []
    expected = sum((exact(convert(v, u, "kg")) for u, v in by_unit.items()), Fraction())
    assert exact(converted.get(("w", "kg"), Decimal(0))) == expected
