"""The actors' refusals carry their English wording and their data apart (issue 18), so the
sign-up form, the settings pages and the CLI can say them in their reader's language; ``str()``
stays the English sentence that logs, problem+json and older tests read."""

from __future__ import annotations

from typing import Any, cast

import pytest

from node.features.actors import transfer
from node.features.actors.local import ActorRefused, new_local_actor
from node.features.actors.move import MoveRetry
from node.features.actors.signin import SignInThrottled
from node.federation.followups.queue import RetryLater
from protocol.errors import N_


def test_an_export_of_another_version_names_both_versions() -> None:
    payload = {"format": transfer.FORMAT, "version": 7}
    with pytest.raises(transfer.TransferError) as caught:
        transfer._check(payload)
    error = caught.value
    assert error.wording == (
        "chapter export version {version} is not supported "
        "(this chapterhouse reads version {supported})"
    )
    assert dict(error.params) == {"version": "7", "supported": str(transfer.VERSION)}
    assert str(error) == (
        f"chapter export version 7 is not supported "
        f"(this chapterhouse reads version {transfer.VERSION})"
    )
    assert error.spoken(lambda text: text.replace("not supported", "NICHT")) == (
        f"chapter export version 7 is NICHT (this chapterhouse reads version {transfer.VERSION})"
    )


def test_a_damaged_time_names_the_part_of_the_export() -> None:
    with pytest.raises(transfer.TransferError) as caught:
        transfer._parse_time("2027-06-12T10:00:00", "a call's start")
    error = caught.value
    assert error.wording == "the export is damaged: {what} has no time zone"
    assert dict(error.params) == {"what": "a call's start"}
    assert str(error) == "the export is damaged: a call's start has no time zone"


def test_an_unknown_actor_kind_is_worded_and_still_a_value_error() -> None:
    with pytest.raises(ValueError) as caught:  # the CLI and the API catch ValueError
        new_local_actor(cast(Any, None), "river", "robot")
    error = caught.value
    assert isinstance(error, ActorRefused)
    assert error.wording == "unknown actor kind {kind!r}"
    assert dict(error.params) == {"kind": "robot"}
    assert str(error) == "unknown actor kind 'robot'"


def test_a_throttled_sign_in_keeps_its_wait() -> None:
    error = SignInThrottled(N_("Too many wrong passwords for this name."), 1.2)
    assert error.wording == "Too many wrong passwords for this name."
    assert error.retry_after == 2
    assert str(error) == "Too many wrong passwords for this name."


def test_a_move_to_retry_is_still_a_retry_later() -> None:
    error = MoveRetry(N_("{actor} is not cached yet"), actor="https://new.example/actors/river")
    assert isinstance(error, RetryLater)  # the follow-up worker tries it again, quietly
    assert error.wording == "{actor} is not cached yet"
    assert dict(error.params) == {"actor": "https://new.example/actors/river"}
    assert str(error) == "https://new.example/actors/river is not cached yet"
