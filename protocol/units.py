"""Units of impact metrics: one registry of dimensions, synonyms and exact conversions.

Chapters report in their own units (``g``, ``lb``, ``hours``); a campaign picks one unit per
metric and counts every report in it. Conversions are exact rational arithmetic (no float, and
no dependence on the caller's ``decimal`` context), so that replacing a report (subtract the
old values, add the new) leaves a total exactly as it was, and any node recomputing a rollup
from its reports gets the same digits.

Spelling rules, in order (:func:`canonical_unit`):

1. A registered symbol or exact synonym, as written: ``m3`` → ``m³``, ``L`` → ``l``.
2. A three-letter upper-case ISO 4217 code is money, each code its own dimension. Currencies
   are never converted: a rate is a moment's opinion, and a rollup must be verifiable from its
   reports alone. Only upper case: ``all``, ``cup``, ``top`` are words, not currencies.
3. A registered word or symbol in any case: ``KG`` → ``kg``, ``Persons`` → ``people``. Symbols
   whose capital means something else (``M`` mega, ``T`` tesla, ``G`` giga, ``H`` henry,
   ``S`` siemens; so ``g t m l h s ml m² m³``) match only as written.
4. Anything else is free-form (``bags``, ``trees``, ``letters``): it matches only exactly the
   same spelling, case included, since nothing is known of what its case means (``MWh`` is not
   ``mWh``). Ambiguous names are deliberately free-form: ``ton`` (short, long or metric?),
   ``pound`` (mass or GBP?), ``$`` (which dollar?).

Surrounding white space is ignored everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Final

from protocol.errors import MalformedDocument, UnitMismatch

MetricKey = tuple[str, str]  # (metric, unit), as in protocol.impact

MASS: Final = "mass"
LENGTH: Final = "length"
VOLUME: Final = "volume"
AREA: Final = "area"
TIME: Final = "time"
PEOPLE: Final = "people"
MONEY_PREFIX: Final = "money:"
#: A conversion whose exact result does not terminate (into lb, mi, min or h: the factor has a
#: prime other than 2 and 5) is rounded half-even to this many decimal places. Exact results are
#: never rounded. Rounded values have a bounded number of digits, so sums of them stay exact in
#: the default 28-digit context for totals up to 10**16.
ROUNDING_PLACES: Final = 12

#: ISO 4217 alphabetic codes in use (list one, 2025), funds and special codes included; XTS
#: (testing) and XXX (no currency) are left out. ANG stays during its replacement by XCG.
_ISO_4217_TEXT: Final = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD
    BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD
    EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD
    IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL
    MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN
    PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN
    SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES
    VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW
    ZWG
"""
ISO_4217: Final = frozenset(_ISO_4217_TEXT.split())


@dataclass(frozen=True, slots=True)
class Unit:
    """A registered unit: one of it is ``factor`` of its dimension's base (the unit of factor 1).

    ``exact`` spellings match only as written; ``words`` match in any case."""

    symbol: str
    dimension: str
    factor: Decimal
    exact: tuple[str, ...] = ()
    words: tuple[str, ...] = ()


_TABLE: Final = (
    Unit("g", MASS, Decimal(1), words=("gram", "grams", "gramme", "grammes")),
    Unit("kg", MASS, Decimal(1000), words=("kg", "kilogram", "kilograms", "kilo", "kilos")),
    Unit("t", MASS, Decimal(1_000_000), words=("tonne", "tonnes", "metric ton", "metric tons")),
    Unit("lb", MASS, Decimal("453.59237"), words=("lb", "lbs")),
    Unit("m", LENGTH, Decimal(1), words=("metre", "metres", "meter", "meters")),
    Unit("km", LENGTH, Decimal(1000), words=("km", "kilometre", "kilometres", "kilometer", "kilometers")),
    Unit("mi", LENGTH, Decimal("1609.344"), words=("mi", "mile", "miles")),
    Unit("ml", VOLUME, Decimal(1), ("mL",), ("millilitre", "millilitres", "milliliter", "milliliters")),
    Unit("l", VOLUME, Decimal(1000), ("L",), ("litre", "litres", "liter", "liters")),
    Unit("m³", VOLUME, Decimal(1_000_000), ("m3",), ("cubic metre", "cubic metres", "cubic meter", "cubic meters")),
    Unit("m²", AREA, Decimal(1), ("m2",), ("square metre", "square metres", "square meter", "square meters")),
    Unit("ha", AREA, Decimal(10_000), words=("ha", "hectare", "hectares")),
    Unit("s", TIME, Decimal(1), words=("sec", "secs", "second", "seconds")),
    Unit("min", TIME, Decimal(60), words=("min", "mins", "minute", "minutes")),
    Unit("h", TIME, Decimal(3600), words=("hr", "hrs", "hour", "hours")),
    Unit("people", PEOPLE, Decimal(1), words=("people", "persons", "person")),
)  # fmt: skip

#: The registry by canonical symbol.
UNITS: Final[Mapping[str, Unit]] = MappingProxyType({u.symbol: u for u in _TABLE})
_EXACT: Final[Mapping[str, str]] = MappingProxyType(
    {spelling: u.symbol for u in _TABLE for spelling in (u.symbol, *u.exact)}
)
_FOLDED: Final[Mapping[str, str]] = MappingProxyType(
    {word.casefold(): u.symbol for u in _TABLE for word in u.words}
)


def canonical_unit(unit: str) -> str:
    """The one spelling of ``unit`` (see the module's rules); free-form units come back stripped."""
    text = unit.strip()
    if text in _EXACT:
        return _EXACT[text]
    if text in ISO_4217:
        return text
    return _FOLDED.get(text.casefold(), text)


def is_money(unit: str) -> bool:
    """Whether ``unit`` is an ISO 4217 currency (which nothing converts to or from)."""
    return canonical_unit(unit) in ISO_4217


def dimension_of(unit: str) -> str | None:
    """``mass``, ``money:EUR``...; None for a free-form unit (comparable only to itself)."""
    symbol = canonical_unit(unit)
    if symbol in UNITS:
        return UNITS[symbol].dimension
    if symbol in ISO_4217:
        return MONEY_PREFIX + symbol
    return None


def convertible(from_unit: str, to_unit: str) -> bool:
    """Whether a value in ``from_unit`` can be counted in ``to_unit``."""
    source, target = canonical_unit(from_unit), canonical_unit(to_unit)
    if source == target:
        return True
    a, b = UNITS.get(source), UNITS.get(target)
    return a is not None and b is not None and a.dimension == b.dimension


def convert(value: Decimal, from_unit: str, to_unit: str) -> Decimal:
    """``value`` in ``from_unit`` expressed in ``to_unit``, exactly (see ``ROUNDING_PLACES``).

    The same unit (after canonicalisation) returns ``value`` itself. Raises ``UnitMismatch``
    across dimensions, currencies or free-form spellings."""
    source, target = canonical_unit(from_unit), canonical_unit(to_unit)
    if source == target:
        return value
    a, b = UNITS.get(source), UNITS.get(target)
    if a is None or b is None or a.dimension != b.dimension:
        raise UnitMismatch(from_unit, to_unit)
    if not value.is_finite():
        raise MalformedDocument("a value to convert must be finite")
    return _decimal(Fraction(value) * Fraction(a.factor) / Fraction(b.factor))


def to_campaign_units(
    values: Mapping[MetricKey, Decimal], units: Mapping[str, str]
) -> tuple[dict[MetricKey, Decimal], list[MetricKey]]:
    """Report values counted in the campaign's unit per metric (``units``: metric → unit).

    Returns the converted values keyed by (metric, canonical unit), values that land on the
    same key added exactly, and the (metric, unit) keys that cannot be converted, which are
    left out of the mapping: the caller decides whether they form rows of their own. A metric
    the campaign gives no unit keeps its own (canonical) unit."""
    parts: dict[MetricKey, list[Decimal]] = {}
    refused: list[MetricKey] = []
    for (metric, unit), value in values.items():
        target = units.get(metric, unit)
        try:
            amount = convert(value, unit, target)
        except UnitMismatch:
            refused.append((metric, unit))
            continue
        parts.setdefault((metric, canonical_unit(target)), []).append(amount)
    converted = {
        key: amounts[0] if len(amounts) == 1 else _decimal(sum(map(Fraction, amounts), Fraction()))
        for key, amounts in parts.items()
    }
    return converted, refused


def _decimal(number: Fraction) -> Decimal:
    """The exact decimal of ``number`` when it terminates, else rounded half-even to
    ``ROUNDING_PLACES`` (integer arithmetic and string construction: no context involved)."""
    rest, places = number.denominator, 0
    for prime in (2, 5):
        count = 0
        while rest % prime == 0:
            rest //= prime
            count += 1
        places = max(places, count)
    if rest == 1:
        return Decimal(f"{number.numerator * 10**places // number.denominator}e-{places}")
    scaled, remainder = divmod(number.numerator * 10**ROUNDING_PLACES, number.denominator)
    twice = 2 * remainder
    if twice > number.denominator or (twice == number.denominator and scaled % 2):
        scaled += 1
    return Decimal(f"{scaled}e-{ROUNDING_PLACES}")
