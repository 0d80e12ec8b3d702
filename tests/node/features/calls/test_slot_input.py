"""Slots as organisers type them (issue 16): ``--slot "10:00-12:00 litter pickers:10"`` and the
API's ``{"start", "end", "name", "capacity"}``, placed on the call's date in its zone, every
bad form refused with a message naming the slot and what is wrong."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from node.features.calls.input import FieldError, parse_action_input
from node.features.calls.patch import apply_slots
from node.features.calls.slot_input import parse_slot_text, parse_slots_input, place_slots
from protocol.events import ActionCall
from protocol.slots import Slot, slot_id

LONDON = ZoneInfo("Europe/London")
START = datetime(2027, 7, 12, 10, tzinfo=LONDON)
END = datetime(2027, 7, 12, 13, tzinfo=LONDON)
CALL_ID = "https://chapter.example/actors/greenpark/actions/01J0000000000000000000000"


def place(*items: object, start=START, end=END, zone="Europe/London", given=None):
    return place_slots(
        parse_slots_input(list(items)), start=start, end=end, zone=zone, given_zone=given
    )


def refused(*items: object, **where) -> str:
    with pytest.raises(FieldError) as caught:
        place(*items, **where)
    assert caught.value.field == "slots"
    return caught.value.message


def at(hour: int, minute: int = 0, day: int = 12) -> datetime:
    return datetime(2027, 7, day, hour, minute, tzinfo=LONDON)


def test_the_text_form_and_the_object_form_mean_the_same():
    text = place("10:00-12:00 litter pickers:10", "12:00–13:00  sorting :4")
    objects = place(
        {"start": "10:00", "end": "12:00", "name": "litter pickers", "capacity": 10},
        {"start": "12:00", "end": "13:00", "name": "sorting", "capacity": 4},
    )
    assert text == objects
    assert [(s.name, s.start, s.end, s.capacity) for s in text] == [
        ("litter pickers", at(10), at(12), 10),
        ("sorting", at(12), at(13), 4),
    ]
    # Bare times are wall-clock times in the call's zone (BST here: 09:00 UTC).
    assert text[0].start.astimezone(UTC) == datetime(2027, 7, 12, 9, tzinfo=UTC)
    assert str(text[0].start.tzinfo) == "Europe/London"


def test_full_times_and_a_role_with_colons():
    (slot,) = place("2027-07-12T10:30-2027-07-12T11:00:00+01:00 team: first aid:2")
    assert (slot.name, slot.start, slot.end, slot.capacity) == (
        "team: first aid",
        at(10, 30),
        at(11),
        2,
    )
    # A slot on the second day of a two-day call, and a night shift across midnight.
    two_days = {"start": START, "end": at(13, day=13)}
    (second,) = place("2027-07-13T09:00-2027-07-13T11:00 day two:5", **two_days)
    assert (second.start, second.end) == (at(9, day=13), at(11, day=13))
    (night,) = place("22:00-02:00 night watch:3", **two_days)
    assert (night.start, night.end) == (at(22), at(2, day=13))


def test_a_call_with_only_an_offset_reads_bare_times_in_that_offset():
    plus_two = timezone(timedelta(hours=2))
    start, end = (
        datetime(2027, 7, 12, 10, tzinfo=plus_two),
        datetime(2027, 7, 12, 13, tzinfo=plus_two),
    )
    (slot,) = place("11:00-12:00 stewards:2", start=start, end=end, zone=None)
    assert slot.start == datetime(2027, 7, 12, 11, tzinfo=plus_two)


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ("10-12 litter:3", "must look like START-END ROLE:CAPACITY"),
        ("10:00-12:00 litter", "must look like START-END ROLE:CAPACITY"),
        ("10:00-12:00 :3", "slot 2 needs a role name"),
        ("10:00-12:00 litter:0", "capacity must be at least 1 (got 0)"),
        ("10:00-12:00 litter:ten", "capacity 'ten' is not a whole number"),
        ("10:00-12:00 litter:99999999999", "capacity is unreasonably large"),
        ("25:00-26:00 litter:3", "start '25:00' is not a time of day"),
        ("10:00-12:61 litter:3", "end '12:61' is not a time of day"),
        ("10:00-12:00 " + "x" * 101 + ":3", "role name must be at most 100 characters"),
        ({"start": "10:00", "end": "12:00", "name": "litter"}, "needs a capacity"),
        ({"start": "10:00", "end": "12:00", "name": "litter", "capacity": "3"}, "whole number"),
        ({"start": "10:00", "end": "12:00", "name": "litter", "capacity": True}, "whole number"),
        ({"start": "10:00", "end": "12:00", "name": "litter", "capacity": 1.5}, "whole number"),
        ({"start": "10:00", "end": "12:00", "name": "  ", "capacity": 3}, "needs a role name"),
        ({"start": "10:00", "name": "litter", "capacity": 3}, "needs an end time"),
        ({"end": "12:00", "name": "litter", "capacity": 3}, "needs a start time"),
        ({"start": "ten", "end": "12:00", "name": "litter", "capacity": 3}, "'ten' is not a time"),
        ({"start": "10:00", "end": "12:00", "name": "l", "capacity": 3, "colour": 1}, "'colour'"),
        (42, "must be an object"),
    ],
)
def test_every_bad_form_is_refused_naming_the_slot(item, words):
    with pytest.raises(FieldError) as caught:
        parse_slots_input(["12:00-13:00 sorting:4", item])
    assert caught.value.field == "slots"
    assert "slot 2" in caught.value.message
    assert words in caught.value.message, caught.value.message


def test_the_list_itself_is_checked():
    for value in ("10:00-12:00 litter:3", {"start": "10:00"}, 3):
        with pytest.raises(FieldError, match="must be a list of slots"):
            parse_slots_input(value)
    with pytest.raises(FieldError, match="at most 50 slots \\(got 51\\)"):
        parse_slots_input([f"10:00-11:00 role {i}:1" for i in range(51)])
    assert len(parse_slots_input([f"10:00-11:00 role {i}:1" for i in range(50)])) == 50
    assert parse_slots_input([]) == ()


def test_placing_checks_times_against_the_call():
    assert "is not within the call" in refused("09:00-11:00 early:3")
    assert "is not within the call" in refused("12:00-13:30 late:3")
    assert "Mon 12 Jul 2027 12:00–13:30 (Europe/London)" in refused("12:00-13:30 late:3")
    assert "its end (10:00) is not after its start (12:00)" in refused("12:00-10:00 back:3")
    message = refused("2027-07-12T12:00-2027-07-12T11:00 back:3")
    assert "is not after its start" in message
    # An offset that disagrees with the zone sent with it (11:00 UTC is 12:00 in London).
    assert "Europe/London" in refused("2027-07-12T11:00:00+00:00-12:30 a:1", given="Europe/London")
    # The same role at the same times twice.
    assert "slot 2 (a) repeats slot 1" in refused("10:00-11:00 a:1", "10:00-11:00 a:2")
    # A wall-clock time the zone skips (clocks go forward in London on 28 March 2027).
    spring = {
        "start": datetime(2027, 3, 28, 0, tzinfo=LONDON),
        "end": datetime(2027, 3, 28, 5, tzinfo=LONDON),
    }
    assert "does not exist in Europe/London" in refused("01:30-03:00 a:1", **spring)


def test_slots_are_a_field_of_create_and_update():
    base = {"title": "Canal", "start": "2027-07-12T10:00", "end": "2027-07-12T13:00"}
    created = parse_action_input(
        {**base, "slots": ["10:00-12:00 litter:3"]}, creating=True, allow_http=False
    )
    assert created.slots is not None and created.slots[0].name == "litter"
    cleared = parse_action_input({"slots": None}, creating=False, allow_http=False)
    assert "slots" in cleared.cleared and not cleared.is_empty()
    with pytest.raises(FieldError) as caught:
        parse_action_input(
            {**base, "slots": ["10:00-12:00 litter:0"]}, creating=True, allow_http=False
        )
    assert str(caught.value).startswith("slots: slot 1 (litter): capacity must be at least 1")


def call(*slots: Slot, capacity: int | None = None) -> ActionCall:
    return ActionCall(
        id=CALL_ID,
        chapter="https://chapter.example/actors/greenpark",
        title="Canal",
        start=START,
        end=END,
        published=START,
        timezone="Europe/London",
        capacity=capacity,
        slots=slots,
    )


def given(**data: object):
    return parse_action_input(data, creating=False, allow_http=False)


def test_ids_stay_with_role_and_times_and_capacity_is_the_sum():
    made = apply_slots(
        call(), given(slots=["10:00-12:00 litter:10", "12:00-13:00 sorting:4"]), taken={}
    )
    assert [s.id for s in made.slots] == [slot_id(CALL_ID, 1), slot_id(CALL_ID, 2)]
    assert made.capacity == 14
    # Keep sorting, change litter's times (a new slot), add one: the next free numbers.
    again = apply_slots(
        made,
        given(slots=["12:00-13:00 sorting:6", "10:00-11:30 litter:10", "10:00-13:00 stewards:2"]),
        taken={},
        reserved=[slot_id(CALL_ID, 3)],  # a participant (waiting) still names slot 3
    )
    assert [(s.name, s.id) for s in again.slots] == [
        ("sorting", slot_id(CALL_ID, 2)),
        ("litter", slot_id(CALL_ID, 4)),
        ("stewards", slot_id(CALL_ID, 5)),
    ]
    assert again.capacity == 18
    # Clearing the slots keeps the capacity the call had.
    assert apply_slots(again, given(slots=None), taken={}).slots == ()
    assert apply_slots(again, given(slots=[]), taken={}).capacity == 18


def test_capacity_with_slots_is_refused():
    with pytest.raises(FieldError) as caught:
        apply_slots(call(), given(slots=["10:00-12:00 litter:10"], capacity=30), taken={})
    assert caught.value.field == "capacity"
    assert "takes its capacity from them" in caught.value.message
    made = apply_slots(call(), given(slots=["10:00-12:00 litter:10"]), taken={})
    with pytest.raises(FieldError, match="takes its capacity from them"):
        apply_slots(made, given(capacity=30), taken={})


def test_taken_slots_cannot_go_or_shrink_below_their_people():
    made = apply_slots(
        call(), given(slots=["10:00-12:00 litter:10", "12:00-13:00 sorting:4"]), taken={}
    )
    litter, sorting = (s.id for s in made.slots)
    taken = {litter: 3}
    with pytest.raises(FieldError) as caught:
        apply_slots(made, given(slots=["12:00-13:00 sorting:4"]), taken=taken)
    assert (
        "3 people have taken the slot litter (Mon 12 Jul 2027 10:00–12:00" in caught.value.message
    )
    with pytest.raises(FieldError, match="3 people have taken"):
        apply_slots(made, given(slots=None), taken=taken)
    with pytest.raises(FieldError, match="cannot take only 2: 3 people have already taken it"):
        apply_slots(
            made, given(slots=["10:00-12:00 litter:2", "12:00-13:00 sorting:4"]), taken=taken
        )
    # An empty slot may go; a taken one may shrink to its people; the counts come from `taken`.
    kept = apply_slots(made, given(slots=["10:00-12:00 litter:3"]), taken=taken)
    assert [(s.id, s.capacity, s.taken, s.remaining) for s in kept.slots] == [(litter, 3, 3, 0)]
    assert sorting not in {s.id for s in kept.slots}


def test_kept_slots_must_stay_within_the_calls_new_times():
    made = apply_slots(call(), given(slots=["10:00-12:00 litter:10"]), taken={})
    moved = dataclasses.replace(made, start=at(11))
    with pytest.raises(FieldError, match="would not be within the call's new times"):
        apply_slots(moved, given(title="Later"), taken={})
    assert apply_slots(dataclasses.replace(made, end=at(12)), given(title="x"), taken={}).slots


def test_parse_slot_text_numbers_its_messages():
    with pytest.raises(FieldError, match="^slots: slot 7: "):
        parse_slot_text("nonsense", 7)


def test_a_call_moved_whole_takes_its_slots_and_their_people_with_it():
    made = apply_slots(
        call(), given(slots=["10:00-12:00 litter:10", "12:00-13:00 sorting:4"]), taken={}
    )
    litter = made.slots[0].id
    # Next day, same hours: the slots move too, keep their ids, and the people in them.
    moved = dataclasses.replace(made, start=at(10, day=13), end=at(13, day=13))
    after = apply_slots(moved, given(title="Next day"), taken={litter: 3}, previous=made)
    assert [(s.id, s.start, s.end, s.taken) for s in after.slots] == [
        (litter, at(10, day=13), at(12, day=13), 3),
        (made.slots[1].id, at(12, day=13), at(13, day=13), 0),
    ]
    # Given again with bare times (read on the new date), they are the same slots.
    again = apply_slots(
        moved,
        parse_action_input(
            {"slots": ["10:00-12:00 litter:10", "12:00-13:00 sorting:4"]},
            creating=False,
            allow_http=False,
        ),
        taken={litter: 3},
        previous=made,
    )
    assert [s.id for s in again.slots] == [s.id for s in made.slots]
    # Across the clocks going back (BST to GMT), 10:00 stays 10:00 local.
    autumn = dataclasses.replace(
        made,
        start=datetime(2027, 10, 30, 10, tzinfo=LONDON),
        end=datetime(2027, 10, 30, 13, tzinfo=LONDON),
        slots=tuple(
            dataclasses.replace(
                s, start=s.start.replace(month=10, day=30), end=s.end.replace(month=10, day=30)
            )
            for s in made.slots
        ),
    )
    later = dataclasses.replace(
        autumn,
        start=datetime(2027, 10, 31, 10, tzinfo=LONDON),
        end=datetime(2027, 10, 31, 13, tzinfo=LONDON),
    )
    (first, _) = apply_slots(later, given(title="x"), taken={}, previous=autumn).slots
    assert first.start.strftime("%d %H:%M %Z") == "31 10:00 GMT"
    # Only resized (a later end): the slots stay where they are.
    longer = dataclasses.replace(made, end=at(14))
    assert apply_slots(longer, given(title="x"), taken={}, previous=made).slots == made.slots
