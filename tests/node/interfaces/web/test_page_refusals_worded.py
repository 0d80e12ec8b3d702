"""A form's own checks (the call form, the chapter's place form) refuse with a wording marked
for the ``pages`` catalogue and the data as params (issue 18): the page says the field's problem
in its reader's language with the value in place, and ``str()`` stays the English."""

from __future__ import annotations

import pytest

from node.features.calls.errors import FieldError
from node.interfaces.web.call_form import call_data
from node.interfaces.web.chapter_settings import form_changes
from protocol.chapter_profile import InvalidProfileField


def test_a_bad_slot_and_a_bad_coordinate_carry_their_wording_and_data():
    form = {"slot_rows": "1", "slot_name_0": "Stewards", "slot_capacity_0": "lots"}
    with pytest.raises(FieldError) as slot:
        call_data(form)
    assert slot.value.field == "slots"
    assert slot.value.wording == "slot {name}: capacity must be a whole number"
    assert slot.value.params == {"name": "Stewards"}
    assert str(slot.value) == "slots: slot Stewards: capacity must be a whole number"

    with pytest.raises(InvalidProfileField) as latitude:
        form_changes({"latitude": "north", "longitude": "4.8"})
    assert latitude.value.field == "latitude"
    assert latitude.value.wording == "{value!r} is not a number"
    assert latitude.value.params == {"value": "north"}
