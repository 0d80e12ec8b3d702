"""The calls' refusals carry their English wording and their data apart (issue 18), so the
check-in page, the call forms and the CLI can say them in their reader's language; ``str()``
stays the English sentence that logs, problem+json and older tests read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest

from node.features.calls import lifecycle
from node.features.calls.attendance import MAX_NAME, AttendanceError, clean_name
from node.features.calls.checkin_code import (
    CheckinClosed,
    CheckinThrottled,
    _refuse_if_closed,
)
from node.features.calls.errors import FieldError
from protocol.events import CONFIRMED
from protocol.localtime import Moment

START = datetime(2027, 7, 12, 10, tzinfo=UTC)


def test_a_walk_ins_name_too_long_names_the_limit_as_a_number() -> None:
    with pytest.raises(AttendanceError) as caught:
        clean_name("x" * (MAX_NAME + 1))
    error = caught.value
    assert error.wording == "a walk-in's name is longer than {limit} characters"
    assert dict(error.params) == {"limit": MAX_NAME}
    assert str(error) == f"a walk-in's name is longer than {MAX_NAME} characters"
    assert error.spoken(lambda text: text, lambda value: f"<{value}>") == (
        "a walk-in's name is longer than <200> characters"
    )


def test_check_in_before_it_opens_carries_the_time_it_opens() -> None:
    row = SimpleNamespace(
        status=CONFIRMED,
        start_time=START,
        end_time=START.replace(hour=12),
        checkin_code="X",
        document={"timezone": "Europe/Paris"},
    )
    services = SimpleNamespace(clock=SimpleNamespace(now=lambda: START.replace(hour=8)))
    with pytest.raises(CheckinClosed) as caught:
        _refuse_if_closed(cast(Any, row), cast(Any, services))
    error = caught.value
    assert error.wording == "check-in opens at {opens}, 30 minutes before the start"
    assert dict(error.params) == {"opens": Moment(START - timedelta(minutes=30), "Europe/Paris")}
    # In the call's zone, named (10:00 UTC is noon in Paris in July), never UTC or ISO.
    assert str(error) == (
        "check-in opens at Mon 12 Jul 2027 11:30 (Europe/Paris), 30 minutes before the start"
    )


def test_throttled_check_in_and_a_long_reason_keep_their_numbers_as_params() -> None:
    throttled = CheckinThrottled(12.2)
    assert throttled.params == {"seconds": 13} and throttled.retry_after == 13
    assert throttled.wording is not None and "{seconds} seconds" in throttled.wording
    with pytest.raises(FieldError) as caught:
        lifecycle._reason("x" * (lifecycle.MAX_REASON + 1))
    assert caught.value.wording == "must be at most {limit} characters"
    assert dict(caught.value.params) == {"limit": lifecycle.MAX_REASON}
    assert str(caught.value) == f"reason: must be at most {lifecycle.MAX_REASON} characters"
