"""An error's words in a reader's language: the wording translated, its data filled in, and
its numbers written the language's way."""

from __future__ import annotations

from protocol.errors import N_, ChapterhouseError, FieldWordedError, WordedError

GERMAN = {
    "at most {count} people at once": "höchstens {count} Personen auf einmal",
    "lost {count}": "verloren",
    "must be at least {minimum}": "muss mindestens {minimum} sein",
    "capacity": "Kapazität",
}


def german(message: str) -> str:
    return GERMAN.get(message, message)


def german_number(value: int | float) -> str:
    return f"{value:,}".replace(",", ".")


def test_a_worded_error_is_english_in_str_and_translated_when_spoken() -> None:
    error = WordedError(N_("at most {count} people at once"), count=1500)
    assert str(error) == "at most 1500 people at once"
    assert error.spoken(german) == "höchstens 1500 Personen auf einmal"


def test_numbers_are_written_the_readers_way_when_a_formatter_is_given() -> None:
    error = WordedError(N_("at most {count} people at once"), count=15000)
    assert error.spoken(german, german_number) == "höchstens 15.000 Personen auf einmal"


def test_only_numbers_are_reformatted_never_text_or_flags() -> None:
    error = WordedError(N_("at most {count} people at once"), count=True)
    assert error.spoken(german, german_number) == "höchstens True Personen auf einmal"
    named = WordedError(N_("at most {count} people at once"), count="2000")
    assert named.spoken(german, german_number) == "höchstens 2000 Personen auf einmal"


def test_a_translation_that_lost_a_placeholder_falls_back_to_english() -> None:
    error = WordedError(N_("lost {count}"), count=3)
    assert error.spoken(german) == "verloren"  # no placeholder to fill: the text as given
    broken = WordedError(N_("lost {count}"), count=3)
    assert broken.spoken(lambda _: "{missing} verloren") == "lost 3"


def test_a_field_error_names_its_field_in_the_readers_language() -> None:
    error = FieldWordedError("capacity", N_("must be at least {minimum}"), minimum=1000)
    assert str(error) == "capacity: must be at least 1000"
    assert error.message_in(german) == "muss mindestens 1000 sein"


def test_an_error_with_no_wording_is_looked_up_as_it_says_it() -> None:
    assert ChapterhouseError("capacity").spoken(german) == "Kapazität"


def test_a_field_error_writes_its_numbers_the_readers_way() -> None:
    error = FieldWordedError("capacity", N_("must be at least {minimum}"), minimum=1000)
    assert error.message_in(german, german_number) == "muss mindestens 1.000 sein"
    assert error.spoken(german, german_number) == "Kapazität: muss mindestens 1.000 sein"


def test_a_format_spec_that_wants_the_raw_number_still_says_the_english() -> None:
    error = WordedError(N_("at most {count:.1f} km"), count=2.25)
    assert error.spoken(german, german_number) == "at most 2.2 km"
