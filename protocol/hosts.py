"""Host names as an HTTP client reads them: one normal form for checking and for connecting.

A URL's host can be spelt many ways that a client turns into the same address: fullwidth digits
(U+FF10-FF19), circled digits (U+2460...) and ideographic full stops (U+3002, U+FF0E, U+FF61)
become ``127.0.0.1`` under IDNA (UTS #46) mapping, and the WHATWG URL standard reads
``127.1``, ``0x7f.1``, ``0177.0.0.1`` and ``2130706433`` as IPv4 addresses. A guard that looks at
the host as written and a client that connects to the host as normalised disagree about where a
request goes. So the guard normalises here first, checks the result, and the client is handed
exactly that result.

``normalise_host`` follows the WHATWG host parser: percent-decoding, UTS #46 mapping (by the
``idna`` package, non-transitional, as WHATWG and yarl use it), then "ends in a number" and the
IPv4 parser. It is stricter than WHATWG where that costs nothing real: labels must be DNS-sized
and ASCII labels may hold only letters, digits, ``-`` and ``_``. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final
from urllib.parse import unquote_to_bytes

import idna

from protocol.errors import MalformedDocument

#: Longer hosts are refused before any mapping work (a DNS name has at most 253 characters;
#: the margin leaves room for percent-encoding and the spellings above).
MAX_HOST_INPUT: Final = 1024
_MAX_NAME: Final = 253
_MAX_LABEL: Final = 63
_ASCII_LABEL: Final = re.compile(r"[a-z0-9_-]+")
_IPV6_TEXT: Final = re.compile(r"[0-9a-fA-F:.]+")
_DIGITS: Final = {
    10: re.compile(r"[0-9]+"),
    8: re.compile(r"[0-7]+"),
    16: re.compile(r"[0-9a-fA-F]+"),
}


class InvalidHost(MalformedDocument):
    """A URL's host that no HTTP client should connect to: not a name, not an address."""


def normalise_host(host: str) -> str:
    """The host as a client connects to it: an ASCII lower-case DNS name (no trailing dot),
    an IPv4 dotted quad, or a bracketed, compressed IPv6 address.

    ``host`` is the host part of a URL's authority (IPv6 in brackets). Raises ``InvalidHost``
    when it is none of these (the WHATWG parser would fail, or the name cannot be in DNS).
    """
    if not host:
        raise InvalidHost("the host is empty")
    if len(host) > MAX_HOST_INPUT:
        raise InvalidHost(f"the host is longer than {MAX_HOST_INPUT} characters")
    if host.startswith("["):
        return f"[{_ipv6(host)}]"
    if "%" in host:
        try:
            host = unquote_to_bytes(host).decode("utf-8")
        except UnicodeError as exc:  # bytes that are not UTF-8, or a lone surrogate
            raise InvalidHost("the host is not valid percent-encoded UTF-8") from exc
    name = _domain_to_ascii(host)
    if ends_in_a_number(name):
        return str(ipaddress.IPv4Address(parse_ipv4(name)))
    labels = name.split(".")
    if len(name) > _MAX_NAME or any(len(label) > _MAX_LABEL for label in labels):
        raise InvalidHost("the host is too long for a DNS name")
    return name


def _ipv6(host: str) -> str:
    if not host.endswith("]"):
        raise InvalidHost("an IPv6 host must end with ']'")
    inner = host[1:-1]
    # ipaddress reads non-ASCII digits (int() does); WHATWG takes ASCII only, and no zone id.
    if not inner.isascii() or not _IPV6_TEXT.fullmatch(inner):
        raise InvalidHost("the IPv6 address has characters an address cannot have")
    try:
        return ipaddress.IPv6Address(inner).compressed
    except ValueError as exc:
        raise InvalidHost("the IPv6 address is not valid") from exc


def _domain_to_ascii(host: str) -> str:
    """UTS #46 mapping, then each label checked (and Unicode labels Punycode-encoded)."""
    try:
        mapped = idna.uts46_remap(host, std3_rules=False)
    except idna.IDNAError as exc:
        raise InvalidHost("the host has characters a domain name cannot have") from exc
    if mapped.endswith("."):
        mapped = mapped[:-1]  # one trailing dot: the fully qualified spelling of the same name
    labels = mapped.split(".")
    out = []
    for label in labels:
        if not label:
            raise InvalidHost("the host has an empty label")
        out.append(_label_to_ascii(label))
    return ".".join(out)


def _label_to_ascii(label: str) -> str:
    if label.isascii():
        label = label.lower()
        if not _ASCII_LABEL.fullmatch(label):
            raise InvalidHost("the host has characters a domain name cannot have")
        if label.startswith("xn--"):
            try:
                idna.ulabel(label)  # a Punycode label must decode to a valid Unicode label
            except (idna.IDNAError, UnicodeError) as exc:
                raise InvalidHost("the host has an invalid Punycode (xn--) label") from exc
        return label
    try:
        return idna.alabel(label).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise InvalidHost("the host has characters a domain name cannot have") from exc


def ends_in_a_number(name: str) -> bool:
    """WHATWG "ends in a number": whether the host is to be read as an IPv4 address."""
    parts = name.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    if last and last.isascii() and last.isdigit():
        return True
    try:
        _ipv4_number(last)
    except InvalidHost:
        return False
    return True


def parse_ipv4(name: str) -> int:
    """The WHATWG IPv4 parser: one to four dot-separated numbers, each decimal, octal (leading
    ``0``) or hexadecimal (leading ``0x``), the last filling the remaining bytes."""
    parts = name.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if len(parts) > 4:
        raise InvalidHost("an IPv4 address has at most four parts")
    numbers = [_ipv4_number(part) for part in parts]
    if any(n > 255 for n in numbers[:-1]):
        raise InvalidHost("an IPv4 address part is larger than 255")
    if numbers[-1] >= 256 ** (5 - len(numbers)):
        raise InvalidHost("the IPv4 address is out of range")
    address = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        address += number * 256 ** (3 - index)
    return address


def _ipv4_number(part: str) -> int:
    if not part:
        raise InvalidHost("an IPv4 address has an empty part")
    radix = 10
    if part[:2] in {"0x", "0X"}:
        part, radix = part[2:], 16
    elif len(part) > 1 and part.startswith("0"):
        part, radix = part[1:], 8
    if not part:
        return 0
    if not _DIGITS[radix].fullmatch(part):  # never int() alone: it takes "_", "+", " ", U+FF11
        raise InvalidHost("an IPv4 address part is not a number")
    return int(part, radix)
