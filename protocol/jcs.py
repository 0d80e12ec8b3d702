"""RFC 8785 (JCS) bytes by ``orjson`` for the documents where its sorted output *is* JCS.

Canonicalising is most of the cost of making and checking an eddsa-jcs-2022 proof: the exact
implementation (``rfc8785``, behind ``protocol.proofs.canonical_json``) is pure Python and costs
tens to hundreds of µs a document, ``orjson.dumps(value, option=OPT_SORT_KEYS)`` a few. The two
agree byte for byte on a large class of documents, and ``fast_jcs`` returns orjson's bytes only
for a value inside that class (checked in one walk), ``None`` otherwise, so the caller falls back
to the exact implementation, which also produces every refusal. The class, and why each rule is
needed (each was checked against ``rfc8785``; ``tests/protocol/test_jcs.py`` keeps checking):

* types: exactly ``dict``, ``list``, ``tuple``, ``str``, ``int``, ``bool``, ``None``, ``float``
  (no subclasses, no other ``Mapping``): orjson also writes enums, UUIDs, dataclasses and
  datetimes, which JCS has no form for.
* strings: no condition. Both write UTF-8 as is and escape only ``"``, ``\\`` and U+0000-U+001F,
  with the same escapes (``\\b \\t \\n \\f \\r``, else lowercase ``\\u00xx``; U+007F, U+2028 and
  U+2029 are not escaped by either). A lone surrogate is not UTF-8: orjson raises, we fall back.
* keys: strings with no code point above U+FFFF. JCS sorts names by UTF-16 code units, orjson by
  code point; these differ only when a surrogate pair meets U+E000-U+FFFF. A non-string key makes
  the walk raise ``TypeError``: fall back.
* integers: within ±(2**53 - 1), the bound both ``rfc8785`` and ``OPT_STRICT_INTEGER`` enforce
  (orjson raises beyond it: fall back).
* floats: finite, not integral, and 1e-5 ≤ |x| (< 1e16 follows: every double from 2**53 up is
  integral). There both write the shortest round-trip digits in plain decimal notation; orjson
  writes ``2.0``/``-0.0`` where JCS writes ``2``/``0``, and switches to exponent notation below
  1e-5 and from 1e16, where JCS (ECMAScript ``Number.toString``) does below 1e-6 and from 1e21.
  NaN and infinities fail the range test (orjson would write ``null``).
* depth: at most ``_MAX_DEPTH`` containers deep (orjson stops at 255; the exact path refuses
  beyond 256 levels, and a cyclic value ends here rather than in a ``RecursionError``).

The walk does not look inside strings or at integers: orjson checks those as it writes. Letting
orjson write first and checking its output instead cannot work: a NaN comes out as ``null``.
Serialisation only; nothing here is cryptography.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

import orjson

_OPTIONS: Final = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_STRICT_INTEGER
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
_MAX_DEPTH: Final = 250
_BMP_MAX: Final = "\uffff"
#: Floats from here up (and below 1e16, which every non-integral double is) print alike.
_FLOAT_MIN: Final = 1e-5
_LEAVES: Final = frozenset({str, int, bool, type(None)})
_CONTAINERS: Final = frozenset({dict, list, tuple})
_ALLOWED: Final = _LEAVES | _CONTAINERS | {float}


def _float_fits(value: float) -> bool:
    return _FLOAT_MIN <= abs(value) < 1e16 and not value.is_integer()


def _scalar_fits(value: object) -> bool:
    if type(value) in _LEAVES:
        return True
    return type(value) is float and _float_fits(value)


def _fits(value: object, depth: int) -> bool:
    """Whether orjson's sorted bytes for ``value`` are its JCS bytes (module doc); a non-string
    key raises ``TypeError`` (from ``str.join``). The types of a container's items are collected
    in C (``set(map(type, ...))``): most containers hold only strings and integers, and then no
    item is visited in Python."""
    items: Collection[object]
    if type(value) is dict:
        names = "".join(value)
        if not names.isascii() and max(names) > _BMP_MAX:
            return False
        items = value.values()
    elif type(value) is list or type(value) is tuple:
        items = value
    else:
        return _scalar_fits(value)
    kinds = set(map(type, items))
    if kinds <= _LEAVES:
        return True
    if depth >= _MAX_DEPTH or not kinds <= _ALLOWED:
        return False
    for item in items:
        if type(item) is float:
            if not _float_fits(item):
                return False
        elif type(item) in _CONTAINERS and not _fits(item, depth + 1):
            return False
    return True


def fast_jcs(value: object) -> bytes | None:
    """The RFC 8785 bytes of ``value`` when orjson can write them exactly, else ``None``.

    ``None`` is not a refusal: the caller canonicalises with the exact implementation, which
    either writes the bytes or says why there are none.
    """
    try:
        if not _fits(value, 0):
            return None
        return orjson.dumps(value, option=_OPTIONS)
    except TypeError:  # a non-string key, a lone surrogate, a huge int (JSONEncodeError)
        return None


def jcs_of_part(part: object) -> bytes:
    """The JCS bytes of ``part``, a value inside (or a dict of members of) a value that
    ``fast_jcs`` accepted: every rule held there holds here, so no walk is needed. A proof
    check writes three such parts of one document (module doc of ``protocol.proof_digest``)."""
    return orjson.dumps(part, option=_OPTIONS)
