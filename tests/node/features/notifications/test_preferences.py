"""What the node accepts as a member's e-mail address: one plain ``local@domain``, never a line
break (it would end the ``To:`` header and start another: header injection)."""

from __future__ import annotations

import pytest

from node.features.notifications.preferences import AddressError, valid_address


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("ada@example.org", "ada@example.org"),
        ("  Ada.Lovelace+calls@Example.ORG ", "Ada.Lovelace+calls@example.org"),
        ("o'brien@mail.example.co.uk", "o'brien@mail.example.co.uk"),
        ("ada@bücher.example", "ada@xn--bcher-kva.example"),
    ],
)
def test_plain_addresses_are_kept(given: str, stored: str) -> None:
    assert valid_address(given) == stored


@pytest.mark.parametrize(
    "given",
    [
        "ada@example.org\r\nBcc: victim@example.org",
        "ada@example.org\nBcc: victim@example.org",
        "ada@example.org\rX",
        "ada\x00@example.org",
        "Ada <ada@example.org>",
        "ada@example.org, bo@example.org",
        "ada example@example.org",
        "ada",
        "@example.org",
        "ada@",
        "ada@localhost",
        "ada@@example.org",
        "ada..x@example.org",
        ".ada@example.org",
        "ada@-example.org",
        "ada@exa_mple.org",
        "adä@example.org",
        '"ada"@example.org',
        "",
        "   ",
        "a" * 65 + "@example.org",
        "ada@" + "a" * 250 + ".org",
    ],
)
def test_anything_else_is_refused(given: str) -> None:
    with pytest.raises(AddressError):
        valid_address(given)
