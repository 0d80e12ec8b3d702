"""The impact feature's refusals carry their English wording and their data apart, so a page or
the CLI can say them in its reader's language (``ChapterhouseError.spoken``); ``str()`` stays
the English that logs, tests and problem+json read."""

from __future__ import annotations

import pytest

from node.features.calls.input import FieldError
from node.features.impact.reports import MeasurePatch, ReportExists, parse_metric_args


def test_a_metric_that_is_not_a_number_is_worded_with_its_name() -> None:
    with pytest.raises(FieldError) as raised:
        parse_metric_args(["participants=many:people"], "counted")
    error = raised.value
    assert str(error) == "metrics: value of participants is not a number"
    assert error.wording == "value of {metric} is not a number"
    assert dict(error.params) == {"metric": "participants"}
    german = {"value of {metric} is not a number": "der Wert von {metric} ist keine Zahl"}
    assert error.message_in(lambda text: german.get(text, text)) == (
        "der Wert von participants ist keine Zahl"
    )


def test_removing_a_metric_the_report_lacks_names_both() -> None:
    patch = MeasurePatch(remove=(("participants", "people"),))
    with pytest.raises(FieldError) as raised:
        patch.apply(())
    assert raised.value.wording == "the report has no metric {metric} (it has {held})"
    assert dict(raised.value.params) == {"metric": "participants:people", "held": ""}


def test_a_second_report_names_the_call_and_the_live_report() -> None:
    error = ReportExists("https://n.example/calls/1", "https://n.example/reports/2")
    assert str(error) == (
        "https://n.example/calls/1 already has a live report, https://n.example/reports/2:"
        " correct that one instead"
    )
    assert error.wording == "{call} already has a live report, {report}: correct that one instead"
    assert dict(error.params) == {
        "call": "https://n.example/calls/1",
        "report": "https://n.example/reports/2",
    }
