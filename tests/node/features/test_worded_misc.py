"""Refusals of moderation and of the inbound checks carry a wording marked for the catalogues and
their data as params (issue 18), so a page or the CLI says them in its reader's language with
the data in place; ``str()`` stays the English that logs, tests and problem+json read."""

from __future__ import annotations

import pytest

from node.features.actors.authz import NotFoundError
from node.features.inbound import InboundRefused
from node.features.moderation.blocks import BlockRefused, LineRefused, normalise_domain
from node.features.moderation.flags import flag_id_from
from node.runtime.errors import HttpError

GERMAN = {
    "line {line}: {reason}": "Zeile {line}: {reason}",
    "{value!r} is not a domain": "{value!r} ist keine Domain",
}


def test_moderation_refusals_carry_their_wording_and_data():
    with pytest.raises(NotFoundError) as unknown:
        flag_id_from("x1")
    assert unknown.value.wording == "no abuse report with id {id!r}"
    assert unknown.value.params == {"id": "x1"}
    assert str(unknown.value) == "no abuse report with id 'x1'"

    with pytest.raises(ValueError) as bad:  # still a ValueError, as its callers catch
        normalise_domain("not a domain")
    assert isinstance(bad.value, BlockRefused)
    assert bad.value.wording == "{value!r} is not a domain"
    assert bad.value.params == {"value": "not a domain"}


def test_a_refused_block_list_line_says_its_reason_in_the_readers_language_too():
    reason = BlockRefused("{value!r} is not a domain", value="a b")
    line = LineRefused(1234, reason)
    assert str(line) == "line 1234: 'a b' is not a domain"
    german = line.spoken(lambda text: GERMAN.get(text, text), lambda n: f"{n:,}".replace(",", "."))
    assert german == "Zeile 1.234: 'a b' ist keine Domain"


def test_an_inbound_refusal_keeps_its_status_and_english_detail():
    error = InboundRefused(
        403, "{actor} does not own {target}", actor="https://a.example/x", target="urn:y"
    )
    assert isinstance(error, HttpError) and error.status == 403
    assert error.detail == str(error) == "https://a.example/x does not own urn:y"
    assert error.wording == "{actor} does not own {target}"
    assert error.params == {"actor": "https://a.example/x", "target": "urn:y"}
