"""The following refusals carry their English wording and their data apart (issue 18), so the
follow and remote-follow pages say them in their reader's language; ``str()`` stays the English
sentence that logs, problem+json and older tests read."""

from __future__ import annotations

from typing import Any, cast

import pytest

from node.features.actors.authz import NotFoundError
from node.features.following.follow import FollowError
from node.features.following.interaction import (
    TargetMalformed,
    TargetRefused,
    TargetUnreachable,
    describe_target,
)
from node.features.following.remote import UNREACHABLE, RemoteFollowUnavailable
from protocol.errors import N_, MalformedDocument


def test_an_unreachable_server_is_named_as_data() -> None:
    error = TargetUnreachable("social.example")
    assert error.wording == "{host} could not be reached; try again later"
    assert dict(error.params) == {"host": "social.example"}
    assert str(error) == "social.example could not be reached; try again later"
    gone = RemoteFollowUnavailable("social.example", UNREACHABLE)
    assert gone.wording == "{host} could not be reached"
    assert dict(gone.params) == {"host": "social.example"}
    assert str(gone) == "social.example could not be reached"
    assert gone.reason == UNREACHABLE


async def test_an_empty_address_is_malformed_and_worded() -> None:
    with pytest.raises(TargetRefused) as caught:
        await describe_target(cast(Any, None), "https://here.example/actors/ann", "  ")
    error = caught.value
    assert isinstance(error, TargetMalformed) and error.malformed
    assert error.wording == "give the account to follow (user@host or its URL)"
    assert not TargetRefused(N_("that is your own account")).malformed


def test_a_lower_refusal_keeps_its_wording_and_data() -> None:
    lower = NotFoundError(N_("no local actor named {name!r}"), name="ann")
    error = FollowError.about(lower)
    assert error.wording == "no local actor named {name!r}"
    assert dict(error.params) == {"name": "ann"}
    assert str(error) == "no local actor named 'ann'"
    unworded = TargetMalformed.about(MalformedDocument("not a handle"))
    assert str(unworded) == "not a handle" and unworded.malformed
