"""RFC 8941/9651 structured fields for ``Signature-Input``, ``Signature`` and component ids.

http-sf does the parsing and serialising. This module only adapts it to the signature code:
its tuples become typed frozen values, its ``ValueError``s become ``MALFORMED`` refusals,
repeated keys are refused (RFC 9651 lets the last one win; two ``sig1`` members or two
``keyid`` parameters are an ambiguity a signature must not have), and each dictionary member
keeps the text it was received as, which is what the ``@signature-params`` line reproduces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import http_sf
from http_sf.types import BareItemType, DictionaryType, InnerListType, ItemType, ListType

from protocol.httpsig.failures import malformed

BareItem = BareItemType
Params = tuple[tuple[str, BareItem], ...]


@dataclass(frozen=True, slots=True)
class Item:
    """A bare item with its parameters, in the order they were written (order is signed)."""

    value: BareItem
    params: Params = ()

    def param(self, name: str) -> BareItem | None:
        """The parameter's value, or ``None`` when absent."""
        return next((value for key, value in self.params if key == name), None)


@dataclass(frozen=True, slots=True)
class InnerList:
    """A parenthesised list of items with parameters of its own (a Signature-Input member)."""

    items: tuple[Item, ...]
    params: Params = ()

    def param(self, name: str) -> BareItem | None:
        """The parameter's value, or ``None`` when absent."""
        return next((value for key, value in self.params if key == name), None)


@dataclass(frozen=True, slots=True)
class Member:
    """A dictionary member: its parsed value and its value text exactly as received."""

    value: Item | InnerList
    raw: str


def _refuse_duplicate(key: str, context: str) -> NoReturn:
    raise malformed(f"structured field repeats the {context} key {key!r}")


def _parse(text: str, tltype: str, what: str) -> http_sf.StructuredType:
    if not text.isascii():  # structured fields are ASCII; refuse before encoding can fail
        raise malformed(f"{what} is not ASCII")
    try:
        return http_sf.parse(
            text.encode("ascii"), tltype=tltype, on_duplicate_key=_refuse_duplicate
        )
    except ValueError as exc:  # http_sf.StructuredFieldError is a ValueError
        raise malformed(f"{what} is not a valid structured field: {exc}") from exc


def _item(parsed: ItemType) -> Item:
    if isinstance(parsed, tuple):
        value, params = parsed
        return Item(value, tuple(params.items()))
    return Item(parsed)


def _item_or_inner_list(parsed: ItemType | InnerListType) -> Item | InnerList:
    if isinstance(parsed, tuple):
        value, params = parsed
        if isinstance(value, list):
            return InnerList(tuple(_item(item) for item in value), tuple(params.items()))
        return Item(value, tuple(params.items()))
    if isinstance(parsed, list):
        return InnerList(tuple(_item(item) for item in parsed))
    return Item(parsed)


def _member_texts(text: str) -> dict[str, str]:
    """Each member's value text, from a dictionary http-sf has already accepted.

    Once the field is known to be valid, a comma outside a String or Display String always
    separates members, so a quote-aware split is exact. (http-sf reports values, not where
    they were in the input.) A key without ``=`` (a Boolean true) maps to its parameters.
    """
    pieces: list[str] = []
    start = 0
    quoted = escaped = display = False
    for index, char in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\" and not display:  # Display Strings have no backslash escapes
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted, display = True, text[index - 1 : index] == "%"
        elif char == ",":
            pieces.append(text[start:index])
            start = index + 1
    pieces.append(text[start:])
    texts: dict[str, str] = {}
    for piece in pieces:
        member = piece.strip(" \t")
        end = next((i for i, c in enumerate(member) if c in "=;"), len(member))
        texts[member[:end]] = member[end + 1 :] if member[end : end + 1] == "=" else member[end:]
    return texts


def parse_dictionary(text: str, what: str) -> dict[str, Member]:
    """Parse a dictionary field; ``what`` names it in refusals. An empty field is ``{}``."""
    parsed = _parse(text, "dictionary", what)
    if not isinstance(parsed, dict):
        raise malformed(f"{what} is not a dictionary")
    texts = _member_texts(text)
    members: dict[str, Member] = {}
    for key, value in parsed.items():
        raw = texts.get(key)
        if raw is None:  # cannot happen for a field http-sf accepted; refuse rather than guess
            raise malformed(f"{what} member {key!r} could not be located")
        members[key] = Member(_item_or_inner_list(value), raw)
    return members


def parse_item(text: str, what: str) -> Item:
    """Parse a single item (e.g. a component identifier such as ``"@query-param";name="x"``)."""
    parsed = _parse(text, "item", what)
    if isinstance(parsed, dict | list):
        raise malformed(f"{what} is not an item")
    return _item(parsed)


def _sf_item(item: Item) -> ItemType:
    return (item.value, dict(item.params))


def _sf_value(value: Item | InnerList) -> ItemType | InnerListType:
    if isinstance(value, InnerList):
        return ([_sf_item(item) for item in value.items], dict(value.params))
    return _sf_item(value)


def serialize_item(item: Item) -> str:
    """``"@method"``, ``"@query-param";name="Pet"``: the form signature bases use."""
    return http_sf.ser(_sf_item(item))


def serialize_params(params: Params) -> str:
    """``;key=value`` text alone. http-sf only serialises parameters as part of an item, so
    they are written after a Boolean true (always ``?1``) and that prefix is dropped."""
    return http_sf.ser((True, dict(params)))[2:]


def serialize_inner_list(inner: InnerList) -> str:
    """``("@method" "@target-uri");created=1;keyid="k"``: a Signature-Input member value."""
    members: ListType = [_sf_value(inner)]
    return http_sf.ser(members)


def serialize_member(key: str, value: Item | InnerList) -> str:
    """``key=value`` as one dictionary member; ``ValueError`` if ``key`` is not a valid key."""
    dictionary: DictionaryType = {key: _sf_value(value)}
    return http_sf.ser(dictionary)


def is_key(text: str) -> bool:
    """Whether ``text`` can label a dictionary member (lowercase, digits, ``_-.*``)."""
    try:
        serialize_member(text, Item(True))
    except (TypeError, ValueError):
        return False
    return True
