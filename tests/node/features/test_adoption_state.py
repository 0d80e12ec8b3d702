"""Which fields of an adopted call follow its campaign's call: the per-field rule, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

from node.features.calls.adoption.state import initial_state, merge, same, settle, values_of
from protocol.events import ActionCall

CAMPAIGN = ActionCall(
    id="https://campaign.example/actors/climate/actions/1",
    chapter="https://campaign.example/actors/climate",
    title="River clean-up",
    start=datetime(2027, 6, 12, 10, tzinfo=UTC),
    end=datetime(2027, 6, 12, 13, tzinfo=UTC),
    published=datetime(2027, 1, 1, tzinfo=UTC),
    content="<p>Bring gloves.</p>",
)
MOVED = {"start": "2027-06-19T09:00:00+00:00", "end": "2027-06-19T12:00:00+00:00"}


def local(**changes: object) -> dict[str, object]:
    return {**values_of(CAMPAIGN), **changes}


def upstream(**changes: object) -> dict[str, object]:
    return {**values_of(CAMPAIGN), **changes}


def test_the_same_time_written_in_another_offset_is_the_same_time() -> None:
    a = {"start": "2027-06-12T11:00:00+01:00", "end": "2027-06-12T14:00:00+01:00"}
    assert same("time", a, values_of(CAMPAIGN)["time"])
    assert not same("time", MOVED, values_of(CAMPAIGN)["time"])
    assert same("description", " <p>Bring gloves.</p>\n", "<p>Bring gloves.</p>")


def test_fields_the_chapter_left_alone_follow() -> None:
    result = merge(initial_state(CAMPAIGN), local(), upstream(time=MOVED, title="Rivers"))
    assert result.apply == {"time": MOVED, "title": "Rivers"}
    assert result.state["changed"] == [] and result.state["conflicts"] == {}
    assert result.state["upstream"]["time"] == MOVED


def test_a_field_the_chapter_changed_is_kept_and_one_both_changed_is_a_conflict() -> None:
    ours = local(title="Green Park's clean-up", description="<p>Meet at the gate.</p>")
    result = merge(initial_state(CAMPAIGN), ours, upstream(time=MOVED, title="Rivers"))
    assert result.apply == {"time": MOVED}  # the description: only we changed it
    assert result.state["conflicts"] == {"title": "Rivers"}
    assert result.new_conflicts == ("title",)
    assert result.state["changed"] == ["title", "description"]

    # The campaign changes something else: the conflict stands, nothing new to ask.
    again = merge(result.state, {**ours, "time": MOVED}, upstream(time=MOVED, title="Rivers"))
    assert again.apply == {} and again.state["conflicts"] == {"title": "Rivers"}
    assert again.new_conflicts == ()

    theirs = settle(again.state, {**ours, "time": MOVED}, "title", "theirs")
    assert theirs.apply == {"title": "Rivers"}
    assert theirs.state["conflicts"] == {} and theirs.state["changed"] == ["description"]
    kept = settle(again.state, {**ours, "time": MOVED}, "title", "ours")
    assert kept.apply == {} and kept.state["changed"] == ["title", "description"]


def test_the_same_change_on_both_sides_is_no_conflict() -> None:
    result = merge(initial_state(CAMPAIGN), local(title="Rivers"), upstream(title="Rivers"))
    assert result.apply == {} and result.state["conflicts"] == {}
    assert result.state["changed"] == []


def test_a_call_without_a_recorded_state_counts_as_unchanged_by_its_chapter() -> None:
    result = merge(None, local(), upstream(time=MOVED))
    assert result.apply == {"time": MOVED}


def test_settling_a_field_not_in_conflict_is_refused() -> None:
    try:
        settle(initial_state(CAMPAIGN), local(), "title", "theirs")
    except KeyError:
        return
    raise AssertionError("settled a field that was not in conflict")
