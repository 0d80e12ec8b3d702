"""The host normaliser: every spelling a client would connect to as an address reads as it."""

from __future__ import annotations

import pytest

from protocol.errors import MalformedDocument
from protocol.hosts import InvalidHost, ends_in_a_number, normalise_host, parse_ipv4

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "１２７.０.０.１",  # fullwidth digits
    "１２７．０．０．１",  # fullwidth digits and full stops (U+FF0E)
    "127。0。0。1",  # ideographic full stop (U+3002)
    "127｡0｡0｡1",  # halfwidth ideographic full stop (U+FF61)
    "127．0．0．1",
    "①②⑦.⓪.⓪.①",  # circled digits
    "①②⑦.0.0.1",
    "𝟏𝟐𝟕.0.0.1",  # mathematical bold digits
    "127.0.0.1\u00ad",  # a soft hyphen, mapped to nothing
    "127.0.0.1.",  # trailing dot
    "127.0.0.1。",
    "127.1",  # short forms
    "127.0.1",
    "0x7f.1",
    "0X7F.0.0.1",
    "0x7f000001",
    "2130706433",
    "017700000001",
    "0177.0.0.1",
    "0177.0.0.01",
    "0x7f.0x0.0x0.0x1",
    "127%2e0%2e0%2e1",  # percent-encoded dots
    "１２７.0x0.0.1",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_spelling_of_loopback_reads_as_the_dotted_quad(host):
    assert normalise_host(host) == "127.0.0.1"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("Example.COM", "example.com"),
        ("EXAMPLE.com.", "example.com"),
        ("ｅｘａｍｐｌｅ.com", "example.com"),  # fullwidth letters
        ("example。com", "example.com"),
        ("ⓛⓞⓒⓐⓛⓗⓞⓢⓣ", "localhost"),
        ("ＬＯＣＡＬＨＯＳＴ", "localhost"),
        ("münchen.de", "xn--mnchen-3ya.de"),
        ("MÜNCHEN.de", "xn--mnchen-3ya.de"),
        ("xn--mnchen-3ya.de", "xn--mnchen-3ya.de"),
        ("XN--MNCHEN-3YA.DE", "xn--mnchen-3ya.de"),
        ("ex_ample.org", "ex_ample.org"),
        ("1.2.3.example", "1.2.3.example"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.255"),
        ("4294967295", "255.255.255.255"),
        ("1.16777215", "1.255.255.255"),
        ("[::1]", "[::1]"),
        ("[0:0:0:0:0:0:0:1]", "[::1]"),
        ("[::FFFF:127.0.0.1]", "[::ffff:7f00:1]"),
        ("[FE80::1]", "[fe80::1]"),
    ],
)
def test_names_and_addresses_normalise(host, expected):
    assert normalise_host(host) == expected


@pytest.mark.parametrize(
    "host",
    [
        "",
        "a..b",
        ".example",
        "example..",
        "exa mple.com",
        "exa/mple.com",
        "a:b",
        "a@b",
        "a\\b",
        "a\x00b",
        "xn--zz.example",  # invalid Punycode
        "xn--.example",
        "xn--abc-.example",
        "xn---bbk.example",  # a non-canonical A-label
        "⑴.com",  # maps to "(1)"
        "\u200d.com",  # a joiner out of context
        "%ff.example",  # percent-encoding that is not UTF-8
        "%20.example",
        "1.2.3.4.5",  # IPv4: too many parts
        "256.0.0.1",
        "1.2.3.256",
        "1.2.65536",
        "4294967296",
        "0x100000000",
        "08.0.0.1",  # not octal
        "0x7g.1",
        "1..1",
        "example.123",  # ends in a number, but is not an address
        "[::1",
        "[::1]x",
        "[::１]",  # fullwidth digit inside brackets
        "[fe80::1%eth0]",  # zone ids are not URL syntax
        "[1.2.3.4]",
        "a" * 64 + ".example",
        ("a" * 63 + ".") * 4 + "com",
        "x" * 2000,
    ],
)
def test_what_is_not_a_host_is_refused(host):
    with pytest.raises(InvalidHost):
        normalise_host(host)


def test_invalid_host_is_a_malformed_document():
    assert issubclass(InvalidHost, MalformedDocument)


def test_ipv4_parser_follows_whatwg():
    assert parse_ipv4("1.2.3.4") == 0x01020304
    assert parse_ipv4("1.2.772") == 0x01020304
    assert parse_ipv4("1.131844") == 0x01020304
    assert parse_ipv4("16909060") == 0x01020304
    assert parse_ipv4("0x1.0x2.0x3.0x4.") == 0x01020304
    assert ends_in_a_number("a.1") and ends_in_a_number("a.0x") and ends_in_a_number("1.")
    assert not ends_in_a_number("a.b") and not ends_in_a_number("1.a") and not ends_in_a_number("")
